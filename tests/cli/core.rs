//! Core: config, snapshot, diff, check, nar-hash and the stale-artifact gate.

use crate::support::*;

#[test]
fn stale_artifact_when_source_changes_and_output_does_not() {
    let p = Project::new();
    p.config("[[component]]\nname = \"app\"\ninputs = [\"src/**\"]\noutputs = [\"out\"]\n")
        .write("src/main.go", "package main\n")
        .write("out/app", "binary v1");
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    p.write("src/main.go", "package main // hotfix\n");
    let o = p.run(&["check", "--against", "base.json", "--format", "json"]);
    assert_exit(&o, 1);
    assert_eq!(rules_of(&o), ["stale-artifact:error"]);
}
