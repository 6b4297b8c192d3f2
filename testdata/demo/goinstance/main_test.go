package main

import "testing"

func TestRun(t *testing.T) {
	if run() != 0 {
		t.Fatal("run failed")
	}
}
