package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("goinstance: serving")
	os.Exit(run())
}

// run returns the exit status. Hotfix: a failed health probe used to exit 0, so the
// supervisor never restarted the instance.
func run() int {
	if os.Getenv("GOINSTANCE_PROBE") == "fail" {
		return 1
	}
	return 0
}
