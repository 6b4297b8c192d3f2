//! Tests for the reports capability: `--format sarif|junit|markdown|github`.
//!
//! Goldens: one fixed [`Report`] (no timestamps) rendered in every format and compared
//! with the committed files in `tests/golden/`. After an intended change, rewrite them
//! with `BLESS=1 cargo test --test cli reports` and review the diff.

use std::path::PathBuf;

use buildproof::model::RuleId;
use buildproof::model::finding::{Acceptance, Finding, Location};
use buildproof::report::{Format, RenderOptions, Report, render};
use serde_json::{Value, json};

use crate::support::*;

/// The findings every format is tested on: each level, a location with and without a
/// line, none at all, an accepted finding, and text that needs escaping everywhere.
fn fixed_report() -> Report {
    let findings = vec![
        Finding::new(
            RuleId::StaleArtifact,
            "api",
            "inputs changed but `result-api` is unchanged: the build reused an old output; rebuild `api`".into(),
            &["sha256:in-old", "sha256:in-new"],
        )
        .with_detail("changed_inputs", ["api/main.go", "api/handler.go"])
        .with_help("run the build again without the cache, then `buildproof check`")
        .with_location(Some(Location {
            file: "buildproof.toml".into(),
            line: Some(5),
        })),
        Finding::new(
            RuleId::StartupChanged,
            "web",
            "entrypoint changed from [\"/app/web\"] to [\"sh\", \"-c\", \"exec /app/web --port=80 & wait\"] (100% new, <b>|pipe|</b>)\nsecond line".into(),
            &["entrypoint"],
        )
        .with_detail("field", "entrypoint")
        .with_location(Some(Location {
            file: "web/Dockerfile".into(),
            line: Some(7),
        })),
        Finding::new(
            RuleId::EnvChanged,
            "web",
            "environment variable `LOG_LEVEL` changed from `info` to `debug`".into(),
            &["LOG_LEVEL"],
        )
        .with_detail("changed", json!({"LOG_LEVEL": ["info", "debug"]}))
        .with_location(Some(Location {
            file: "web/Dockerfile".into(),
            line: None,
        })),
        Finding::new(
            RuleId::NotDeployed,
            "db",
            "`db` was built but no running container or store path matches it".into(),
            &[],
        ),
        {
            let mut f = Finding::new(
                RuleId::UnexplainedChange,
                "db",
                "accepted: timestamps in the tarball (inputs unchanged but `db.tar` changed)"
                    .into(),
                &["sha256:out-old", "sha256:out-new"],
            );
            f.level = buildproof::model::finding::Level::Note;
            f.acceptance = Some(Acceptance::Accepted {
                reason: "timestamps in the tarball".into(),
                expires: None,
            });
            f
        },
    ];
    Report::new(
        "check",
        vec!["api".into(), "db".into(), "web".into(), "worker".into()],
        vec![
            RuleId::StaleArtifact,
            RuleId::UnexplainedChange,
            RuleId::StartupChanged,
            RuleId::EnvChanged,
        ],
        findings,
    )
}

fn rendered(format: Format) -> String {
    let mut out = Vec::new();
    render(&fixed_report(), format, &RenderOptions::default(), &mut out).expect("renders");
    String::from_utf8(out).expect("utf-8")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[track_caller]
fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with BLESS=1 to create)", path.display()));
    assert_eq!(
        actual,
        expected,
        "{} differs (BLESS=1 rewrites it)",
        path.display()
    );
}

#[test]
fn golden_sarif() {
    golden("report.sarif", &rendered(Format::Sarif));
}

#[test]
fn golden_junit() {
    golden("report.junit.xml", &rendered(Format::Junit));
}

#[test]
fn golden_markdown() {
    golden("report.md", &rendered(Format::Markdown));
}

#[test]
fn golden_github() {
    golden("report.github.txt", &rendered(Format::Github));
}

#[test]
fn golden_json_and_text() {
    golden("report.json", &rendered(Format::Json));
    golden("report.txt", &rendered(Format::Text));
}

/// Fails the test with every schema error when `sarif` is not valid SARIF 2.1.0.
pub(crate) fn validate_sarif(sarif: &Value) {
    let schema_path = root().join("testdata/schemas/sarif-schema-2.1.0.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    let validator = jsonschema::draft4::new(&schema).expect("the SARIF schema compiles offline");
    let errors: Vec<String> = validator
        .iter_errors(sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF is invalid:\n{}",
        errors.join("\n")
    );
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let sarif: Value = serde_json::from_str(&rendered(Format::Sarif)).unwrap();
    validate_sarif(&sarif);
    // The validator does reject what the schema forbids (it is not vacuous).
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = json!("fatal");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("testdata/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    assert!(!jsonschema::draft4::new(&schema).unwrap().is_valid(&broken));
}

#[test]
fn sarif_results_carry_rule_index_location_and_fingerprint() {
    let sarif: Value = serde_json::from_str(&rendered(Format::Sarif)).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for result in run["results"].as_array().unwrap() {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(
            result["partialFingerprints"]["buildproof/v1"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
    }
    // GitHub code scanning refuses a file with any result lacking a location (GH1001).
    for result in run["results"].as_array().unwrap() {
        assert!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string(),
            "{result}"
        );
    }
    let stale = &run["results"][0];
    assert_eq!(stale["ruleId"], "stale-artifact");
    let loc = &stale["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "buildproof.toml");
    assert_eq!(loc["region"]["startLine"], 5);
    let accepted = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "unexplained-change")
        .unwrap();
    assert_eq!(accepted["level"], "note");
    assert_eq!(
        accepted["suppressions"][0]["justification"],
        "timestamps in the tarball"
    );
}

/// The rule ids in SPEC.md's "Rules" table, in order.
fn spec_rule_ids() -> Option<Vec<String>> {
    let spec = std::fs::read_to_string(root().join("../shared/SPEC.md")).ok()?;
    let mut ids = Vec::new();
    for line in spec.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() >= 4
            && cells[1].starts_with('`')
            && matches!(cells[2], "error" | "warning" | "note" | "error or warning")
        {
            ids.push(cells[1].trim_matches('`').to_owned());
        }
    }
    Some(ids)
}

#[test]
fn sarif_rule_list_equals_spec_rule_ids() {
    let sarif: Value = serde_json::from_str(&rendered(Format::Sarif)).unwrap();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let ids: Vec<String> = rules
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let ours: Vec<String> = RuleId::ALL.iter().map(|r| r.as_str().to_owned()).collect();
    assert_eq!(ids, ours);
    for (rule, id) in rules.iter().zip(RuleId::ALL) {
        assert_eq!(rule["shortDescription"]["text"], id.description());
        assert_eq!(rule["defaultConfiguration"]["level"], id.level().as_str());
    }
    // SPEC.md lives beside the repository (`../shared`); on a checkout without it,
    // the list above is still pinned to `RuleId::ALL`, which `rules::ids` pins to SPEC.
    if let Some(spec) = spec_rule_ids() {
        assert_eq!(ids, spec);
    }
}

#[test]
fn junit_is_well_formed_with_a_suite_per_subject_and_a_case_per_check() {
    let xml = rendered(Format::Junit);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let top = doc.root_element();
    assert_eq!(top.tag_name().name(), "testsuites");
    let suites: Vec<_> = top
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    let names: Vec<&str> = suites
        .iter()
        .map(|s| s.attribute("name").unwrap())
        .collect();
    assert_eq!(names, ["api", "db", "web", "worker"]);
    for suite in &suites {
        let cases = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .count();
        assert_eq!(suite.attribute("tests"), Some(cases.to_string().as_str()));
    }
    // db: not-deployed is not one of the listed checks, but still gets its case.
    let db = suites[1];
    let db_cases: Vec<&str> = db
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert!(db_cases.contains(&"not-deployed"));
    assert_eq!(top.attribute("failures"), Some("3"));

    // Errors fail their case; the message survives escaping byte for byte.
    let web = suites[2];
    let startup = web
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("startup-changed"))
        .unwrap();
    let failure = startup
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    let report = fixed_report();
    let original = &report
        .findings
        .iter()
        .find(|f| f.rule == RuleId::StartupChanged)
        .unwrap()
        .message;
    assert_eq!(failure.attribute("message"), Some(original.as_str()));
    // Warnings do not fail: system-out only.
    let env = web
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("env-changed"))
        .unwrap();
    assert!(env.children().all(|n| !n.has_tag_name("failure")));
    let out = env
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .unwrap();
    assert!(out.text().unwrap().contains("LOG_LEVEL"));
    // worker: every check passed.
    let worker = suites[3];
    assert_eq!(worker.attribute("failures"), Some("0"));
}

#[test]
fn github_commands_escape_properties_and_data() {
    let text = rendered(Format::Github);
    let lines: Vec<&str> = text.lines().collect();
    // One line per finding (newlines escaped), then the verdict.
    assert_eq!(lines.len(), 6, "{text}");
    let startup = lines
        .iter()
        .find(|l| l.contains("startup-changed"))
        .unwrap();
    assert!(
        startup.starts_with(
            "::error file=web/Dockerfile,line=7,title=startup-changed (web)::entrypoint changed"
        ),
        "{startup}"
    );
    assert!(startup.contains("(100%25 new"), "{startup}");
    assert!(startup.contains("%0Asecond line"), "{startup}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::warning file=web/Dockerfile,title="))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::notice title=unexplained-change (db)::"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::error title=not-deployed (db)::"))
    );
}

#[test]
fn markdown_has_a_status_table_then_findings() {
    let md = rendered(Format::Markdown);
    let table = md.find("| component | status |").unwrap();
    let findings = md.find("### Findings").unwrap();
    assert!(table < findings);
    assert!(md.contains("| `worker` | ✅ ok | 0 | 0 | 0 |"), "{md}");
    assert!(md.contains("| `api` | ❌ error | 1 | 0 | 0 |"), "{md}");
    // A pipe in a message must not break the table or the list.
    assert!(md.contains("&#124;pipe&#124;"), "{md}");
}

// End to end: the binary writes each format for a real `diff`, with config locations
// made relative to the project.

const BASE: &str = r#"{"schema": "buildproof.manifest/v1", "created": "2026-01-01T00:00:00Z",
 "generator": "buildproof 0.1.0", "components": {"api": {
  "inputs": {"digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111", "files": []},
  "outputs": [{"path": "result-api", "kind": "file", "size": 3,
    "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222"}]}}}"#;

fn stale_project() -> Project {
    let p = Project::new();
    p.config("# api\n\n[[component]]\nname = \"api\"\ninputs = [\"api/**\"]\noutputs = [\"result-api\"]\n")
        .write("base.json", BASE)
        .write(
            "new.json",
            BASE.replace(
                "1111111111111111111111111111111111111111111111111111111111111111",
                "3333333333333333333333333333333333333333333333333333333333333333",
            ),
        );
    p
}

#[test]
fn every_format_renders_a_real_diff_with_config_locations() {
    let p = stale_project();
    for (format, needle) in [
        ("sarif", "\"uri\": \"buildproof.toml\""),
        ("junit", "<failure type=\"stale-artifact\""),
        ("markdown", "| `api` | ❌ error |"),
        (
            "github",
            "::error file=buildproof.toml,line=4,title=stale-artifact (api)::",
        ),
    ] {
        let o = p.run(&["diff", "base.json", "new.json", "--format", format]);
        assert_exit(&o, 1);
        assert!(stdout(&o).contains(needle), "{format}:\n{}", stdout(&o));
    }
    let o = p.run(&["diff", "base.json", "new.json", "--format", "sarif"]);
    validate_sarif(&serde_json::from_slice(&o.stdout).unwrap());
}

#[test]
fn output_file_gets_the_format_and_clean_runs_exit_zero() {
    let p = stale_project();
    let o = p.run(&[
        "diff",
        "base.json",
        "base.json",
        "--format",
        "junit",
        "--output",
        "out/junit.xml",
    ]);
    // `out/` does not exist: could not write, exit 2, nothing half-written.
    assert_bad_input(&o, "`out`");
    assert!(!p.join("out/junit.xml").exists());
    std::fs::create_dir(p.join("out")).unwrap();
    let o = p.run(&[
        "diff",
        "base.json",
        "base.json",
        "--format",
        "junit",
        "--output",
        "out/junit.xml",
    ]);
    assert_exit(&o, 0);
    let xml = p.read("out/junit.xml");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().attribute("failures"), Some("0"));
}

#[test]
fn locations_are_relative_to_the_repository_root_from_a_subdirectory() {
    let p = stale_project();
    // A git work tree root (only `.git`'s presence matters here).
    std::fs::create_dir(p.join(".git")).unwrap();
    std::fs::create_dir(p.join("api")).unwrap();
    for extra in [&[][..], &["-c", "../buildproof.toml"][..]] {
        let o = buildproof()
            .current_dir(p.join("api"))
            .args(["diff", "../base.json", "../new.json", "--format", "github"])
            .args(extra)
            .output()
            .unwrap();
        assert_exit(&o, 1);
        assert!(
            stdout(&o)
                .lines()
                .any(|l| l.starts_with("::error file=buildproof.toml,line=4,")),
            "{extra:?}: {}",
            stdout(&o)
        );
        let o = buildproof()
            .current_dir(p.join("api"))
            .args(["diff", "../base.json", "../new.json", "--format", "sarif"])
            .args(extra)
            .output()
            .unwrap();
        let sarif: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
                ["uri"],
            "buildproof.toml"
        );
    }
}

// Markdown stays under GitHub's 65,536-character limit for a comment or step summary:
// the table and every headline that fits first, then details, then a line saying what
// was left out.

const GITHUB_LIMIT: usize = 65_536;

/// A digest-like hex string from a number, for generated manifests.
fn hex(n: usize) -> String {
    format!("{n:064x}")
}

#[test]
fn sixty_stale_components_fit_a_github_comment() {
    // The reviewer's case: 60 components whose sources changed and whose outputs did
    // not, each with many changed files (94,720 characters before).
    let component = |i: usize, inputs: usize| {
        let files: Vec<Value> = (0..40)
            .map(|f| {
                json!({"path": format!("services/component-{i:02}/internal/handlers/file_{f:02}.go"),
                       "kind": "file", "size": 100, "digest": format!("sha256:{}", hex(inputs + f))})
            })
            .collect();
        json!({"inputs": {"digest": format!("sha256:{}", hex(inputs + i)), "files": files},
               "outputs": [{"path": format!("result-{i:02}"), "kind": "file", "size": 3,
                            "digest": format!("sha256:{}", hex(0xffff + i))}]})
    };
    let manifest = |inputs: usize| {
        let components: serde_json::Map<String, Value> = (0..60)
            .map(|i| (format!("component-{i:02}"), component(i, inputs)))
            .collect();
        json!({"schema": "buildproof.manifest/v1", "created": "2026-01-01T00:00:00Z",
               "generator": "buildproof 0.1.0", "components": components})
        .to_string()
    };
    let p = Project::new();
    p.write("base.json", manifest(0x1000))
        .write("new.json", manifest(0x2000));
    let o = p.run(&["diff", "base.json", "new.json", "--format", "json"]);
    assert_exit(&o, 1);
    let all = stdout(&o);
    let count = all.matches("\"rule\": \"stale-artifact\"").count();
    assert_eq!(count, 60, "{all}");

    let o = p.run(&["diff", "base.json", "new.json", "--format", "markdown"]);
    assert_exit(&o, 1);
    let md = stdout(&o);
    assert!(md.len() <= 60_000, "{} bytes", md.len());
    assert!(md.chars().count() < GITHUB_LIMIT);
    // Every component is in the table, every finding's headline is there.
    for i in 0..60 {
        assert!(
            md.contains(&format!("| `component-{i:02}` | ❌ error | 1 | 0 | 0 |")),
            "row {i}"
        );
        assert!(
            md.contains(&format!("**error** `stale-artifact` in `component-{i:02}`")),
            "headline {i}"
        );
    }
    let shown = md.matches("<details>").count();
    assert!(shown > 0 && shown < 60, "{shown} details shown");
    // The changes come after the findings, in what room is left.
    let changes_shown = md.matches("\n- `component-").count();
    assert!(md.contains("### Changes\n\n60 of 60 components changed."));
    assert!(
        md.trim_end().ends_with(&format!(
            "… {} findings are shown without their details; the changes of {} components are left out to keep this report under GitHub's 65,536-character limit; run with `--format json` or `--format sarif` for all of them in full.",
            60 - shown,
            60 - changes_shown
        )),
        "{}",
        &md[md.len() - 400..]
    );
}

#[test]
fn a_huge_report_keeps_the_table_and_headlines_and_counts_what_it_left_out() {
    // Long messages and long details: headlines alone outgrow the budget.
    let findings: Vec<Finding> = (0..400)
        .map(|i| {
            let rule = if i % 2 == 0 {
                RuleId::StaleArtifact
            } else {
                RuleId::UnexplainedChange
            };
            let message = format!("finding {i}: {}", "x".repeat(200));
            Finding::new(rule, &format!("c{i:03}"), message, &[&i.to_string()])
                .with_help("rebuild")
                .with_detail("files", vec!["y".repeat(100); 30])
        })
        .collect();
    let subjects = (0..400).map(|i| format!("c{i:03}")).collect();
    // The report sorts its findings: errors first.
    let report = Report::new("diff", subjects, vec![RuleId::StaleArtifact], findings);
    let mut out = Vec::new();
    render(
        &report,
        Format::Markdown,
        &RenderOptions::default(),
        &mut out,
    )
    .unwrap();
    let md = String::from_utf8(out).unwrap();
    assert!(md.len() <= 60_000, "{} bytes", md.len());
    // The whole table: it fits its own share of the budget.
    assert_eq!(md.matches("\n| `c").count(), 400);
    let headlines: Vec<&str> = md.lines().filter(|l| l.starts_with("- ")).collect();
    assert!(
        headlines.len() > 50 && headlines.len() < 400,
        "{}",
        headlines.len()
    );
    // In report order: what is left out is the tail.
    assert_eq!(headlines[0], report_first_headline(&report));
    let left_out = 400 - headlines.len();
    let detailed = md.matches("<details>").count();
    assert!(detailed < headlines.len());
    let last = md.trim_end().lines().last().unwrap();
    assert_eq!(
        last,
        format!(
            "… {left_out} of 400 findings are left out, and {} are shown without their details, to keep this report under GitHub's 65,536-character limit; run with `--format json` or `--format sarif` for all of them in full.",
            headlines.len() - detailed
        )
    );
}

fn report_first_headline(report: &Report) -> String {
    let f = &report.findings[0];
    format!(
        "- {} **{}** `{}` in `{}`: {}",
        if f.level == buildproof::model::finding::Level::Error {
            "❌"
        } else {
            "⚠️"
        },
        f.level,
        f.rule.as_str(),
        f.component,
        f.message
    )
}

#[test]
fn sarif_rules_carry_their_section_of_docs_rules_md() {
    let sarif: Value = serde_json::from_str(&rendered(Format::Sarif)).unwrap();
    let doc = std::fs::read_to_string(root().join("docs/rules.md")).unwrap();
    for rule in sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
    {
        let id = rule["id"].as_str().unwrap();
        assert!(
            doc.contains(&format!("\n## `{id}`\n")),
            "docs/rules.md has no section for {id}"
        );
        let short = rule["shortDescription"]["text"].as_str().unwrap();
        let full = rule["fullDescription"]["text"].as_str().unwrap();
        assert_ne!(short, full, "{id}");
        assert!(full.len() > short.len(), "{id}: {full}");
        let help = rule["help"]["markdown"].as_str().unwrap();
        for part in ["**Level:**", "**Example", "**Fix.**", "**Accept"] {
            assert!(help.contains(part), "{id}: help without {part}");
        }
        assert!(
            !help.contains(&format!("## `{id}`")),
            "{id}: heading in help"
        );
        assert!(
            rule["helpUri"]
                .as_str()
                .unwrap()
                .ends_with(&format!("docs/rules.md#{id}"))
        );
    }
}

/// Code scanning shows a result where the pull request touched the code: a stale
/// artifact at the changed input files, with the config entry as a related location.
#[test]
fn sarif_places_a_stale_artifact_at_the_changed_input_files() {
    let p = Project::new();
    p.config("[[component]]\nname = \"api\"\ninputs = [\"src/**\"]\noutputs = [\"out/api\"]\n")
        .write("src/main.go", "package main\n")
        .write("src/util.go", "package main\n")
        .write("out/api", "binary\n");
    assert_exit(&p.run(&["snapshot", "-o", "base.json"]), 0);
    p.write("src/main.go", "package main // fixed\n");
    let o = p.run(&["check", "--against", "base.json", "--format", "sarif"]);
    assert_exit(&o, 1);
    let sarif: Value = serde_json::from_slice(&o.stdout).unwrap();
    validate_sarif(&sarif);
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "stale-artifact");
    let uris: Vec<&str> = result["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(uris, ["src/main.go"]);
    assert_eq!(
        result["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "buildproof.toml"
    );
}

/// GitLab's Code Quality report: the fields GitLab documents as required
/// (<https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format>),
/// checked with a schema written from that list.
#[test]
fn gitlab_code_quality_has_every_required_field() {
    let schema = json!({
        "type": "array",
        "items": {
            "type": "object",
            "required": ["description", "check_name", "fingerprint", "severity", "location"],
            "properties": {
                "description": {"type": "string", "minLength": 1},
                "check_name": {"type": "string", "minLength": 1},
                "fingerprint": {"type": "string", "minLength": 1},
                "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
                "location": {
                    "type": "object",
                    "required": ["path", "lines"],
                    "properties": {
                        "path": {"type": "string", "minLength": 1},
                        "lines": {
                            "type": "object",
                            "required": ["begin"],
                            "properties": {"begin": {"type": "integer", "minimum": 1}}
                        }
                    }
                }
            }
        }
    });
    let validator = jsonschema::validator_for(&schema).unwrap();
    let report: Value = serde_json::from_str(&rendered(Format::Gitlab)).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let issues = report.as_array().unwrap();
    assert_eq!(issues.len(), fixed_report().findings.len());
    // Fingerprints are unique (GitLab keeps only the first of each).
    let unique: std::collections::BTreeSet<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(unique.len(), issues.len());
    let startup = issues
        .iter()
        .find(|i| i["check_name"] == "startup-changed")
        .unwrap();
    assert_eq!(startup["severity"], "critical");
    assert_eq!(startup["location"]["path"], "web/Dockerfile");
    assert_eq!(startup["location"]["lines"]["begin"], 7);
    // No location: anchored at the config, line 1.
    let db = issues
        .iter()
        .find(|i| i["check_name"] == "not-deployed")
        .unwrap();
    assert_eq!(db["location"]["path"], "buildproof.toml");
    assert_eq!(db["location"]["lines"]["begin"], 1);
    let note = issues
        .iter()
        .find(|i| i["check_name"] == "unexplained-change")
        .unwrap();
    assert_eq!(note["severity"], "info");

    // End to end, from a real diff.
    let p = stale_project();
    let o = p.run(&["diff", "base.json", "new.json", "--format", "gitlab"]);
    assert_exit(&o, 1);
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(validator.is_valid(&report));
    assert_eq!(report[0]["location"]["path"], "buildproof.toml");
    assert_eq!(report[0]["location"]["lines"]["begin"], 4);
}

// Several outputs from one run, `-` for stdout, the verdict on stderr, `--fail-on`.

#[test]
fn one_run_writes_several_formats_and_the_log_keeps_the_verdict() {
    let p = stale_project();
    let o = p.run(&[
        "diff",
        "base.json",
        "new.json",
        "--format",
        "html",
        "-o",
        "report.html",
        "--report",
        "sarif=report.sarif",
        "--report",
        "junit=junit.xml",
        "--report",
        "gitlab=gl-code-quality.json",
        "--report",
        "markdown=-",
    ]);
    assert_exit(&o, 1);
    assert!(p.read("report.html").starts_with("<!DOCTYPE html>"));
    validate_sarif(&serde_json::from_str(&p.read("report.sarif")).unwrap());
    roxmltree::Document::parse(&p.read("junit.xml")).unwrap();
    let gitlab: Value = serde_json::from_str(&p.read("gl-code-quality.json")).unwrap();
    assert_eq!(gitlab[0]["check_name"], "stale-artifact");
    // The one report for stdout went there.
    assert!(
        stdout(&o).starts_with("## buildproof diff: ❌ FAIL"),
        "{}",
        stdout(&o)
    );
    // The main report went to a file: the log still says how the run went, and where
    // the reports are.
    assert_eq!(
        stderr(&o),
        "buildproof diff: FAIL: 1 checked, 1 error, 0 warnings, 0 notes; report: report.html (html), report.sarif (sarif), junit.xml (junit), gl-code-quality.json (gitlab)\n"
    );

    // `-o -` is stdout, and then the report is the log: nothing on stderr.
    let o = p.run(&[
        "diff",
        "base.json",
        "new.json",
        "--format",
        "json",
        "-o",
        "-",
    ]);
    assert_exit(&o, 1);
    assert_eq!(findings(&o).len(), 1);
    assert_eq!(stderr(&o), "");

    // Two reports cannot share stdout, nor a format be unknown.
    let o = p.run(&["diff", "base.json", "new.json", "--report", "json=-"]);
    assert_bad_input(&o, "two reports would go to stdout");
    let o = p.run(&["diff", "base.json", "new.json", "--report", "pdf=x.pdf"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("unknown format `pdf` (formats: text, json, sarif, junit, markdown, github, gitlab, html)"),
        "{}",
        stderr(&o)
    );
    assert!(!p.join("x.pdf").exists());
}

/// Manifests for `--fail-on`: `api` unchanged, `gone` removed (a warning).
fn warning_project() -> Project {
    let p = stale_project();
    let base: Value = serde_json::from_str(BASE).unwrap();
    let mut with_gone = base.clone();
    with_gone["components"]["gone"] = base["components"]["api"].clone();
    p.write("with-gone.json", with_gone.to_string());
    p
}

#[test]
fn fail_on_sets_the_level_that_fails_the_run() {
    let p = warning_project();
    // A warning only: exit 0 by default, 1 with `--fail-on warning`.
    let warn = ["diff", "with-gone.json", "base.json", "--format", "json"];
    assert_exit(&p.run(&warn), 0);
    assert_exit(&p.run(&[&warn[..], &["--fail-on", "warning"]].concat()), 1);
    assert_exit(&p.run(&[&warn[..], &["--fail-on", "error"]].concat()), 0);
    // An error: 1, unless `--fail-on never`, and the verdict says why it is ok.
    let error = ["diff", "base.json", "new.json"];
    assert_exit(&p.run(&error), 1);
    let o = p.run(&[&error[..], &["--fail-on", "never"]].concat());
    assert_exit(&o, 0);
    assert!(
        stdout(&o).ends_with(
            "buildproof diff: ok: 1 checked, 1 error, 0 warnings, 0 notes (--fail-on never)\n"
        ),
        "{}",
        stdout(&o)
    );
    // The same flag on the other commands.
    p.write("api/main.go", "package main\n")
        .write("result-api", "abc");
    assert_exit(&p.run(&["snapshot", "-o", "now.json"]), 0);
    p.write("api/main.go", "package main // fix\n");
    assert_exit(&p.run(&["check", "--against", "now.json"]), 1);
    assert_exit(
        &p.run(&["check", "--against", "now.json", "--fail-on", "never"]),
        0,
    );
    // `snapshot` with a pattern that matches nothing (a warning about the build).
    p.config("[[component]]\nname = \"api\"\ninputs = [\"api/**\", \"missing/*.go\"]\noutputs = [\"result-api\"]\n");
    assert_exit(&p.run(&["snapshot", "-o", "s.json"]), 0);
    let o = p.run(&["snapshot", "-o", "s.json", "--fail-on", "warning"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("warning[unmatched-pattern]"),
        "{}",
        stderr(&o)
    );
    // `verify`: a component a running manifest lacks is not deployed (an error).
    p.write("empty.json", BASE.replace("\"api\"", "\"other\""));
    assert_exit(&p.run(&["verify", "s.json", "--running", "empty.json"]), 1);
    assert_exit(
        &p.run(&[
            "verify",
            "s.json",
            "--running",
            "empty.json",
            "--fail-on",
            "never",
        ]),
        0,
    );
    // `dockerfile diff`: a changed entrypoint is an error.
    p.write("a.Dockerfile", "FROM scratch\nENTRYPOINT [\"/a\"]\n")
        .write("b.Dockerfile", "FROM scratch\nENTRYPOINT [\"/b\"]\n");
    assert_exit(
        &p.run(&["dockerfile", "diff", "a.Dockerfile", "b.Dockerfile"]),
        1,
    );
    assert_exit(
        &p.run(&[
            "dockerfile",
            "diff",
            "a.Dockerfile",
            "b.Dockerfile",
            "--fail-on",
            "never",
        ]),
        0,
    );
}

/// Issue 11: Markdown and JUnit rendering were quadratic in subjects (100,000
/// subjects: 170 s in a release build, JSON under 2 s). At 50,000 subjects with a
/// finding each, quadratic work is ~2.5 billion comparisons, minutes in this debug
/// build; every format renders in 0.4 to 10 s here (debug, on a loaded 2-core
/// machine; SARIF, the largest at 37 MB, is the slowest), so 60 s is generous.
#[test]
fn rendering_is_linear_in_subjects() {
    let n = 50_000;
    let subjects: Vec<String> = (0..n).map(|i| format!("component-{i:05}")).collect();
    let findings: Vec<Finding> = subjects
        .iter()
        .map(|s| Finding::new(RuleId::UnpinnedImage, s, "a tag".into(), &[s]))
        .collect();
    let mut report = Report::new("verify", subjects, vec![RuleId::UnpinnedImage], findings);
    report.changes = Some(Vec::new());
    for format in Format::ALL {
        let started = std::time::Instant::now();
        let mut out = Vec::new();
        render(&report, format, &RenderOptions::default(), &mut out).unwrap();
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(60),
            "{format:?}: {took:?} for {n} subjects"
        );
    }
}

/// SPEC.md: every format of a `diff` or `check` shows the changes (text and Markdown
/// in brief, JSON, SARIF and HTML in full, JUnit per suite, GitHub as log lines) and
/// the releases compared.
#[test]
fn every_format_shows_the_changes_and_the_releases() {
    let p = stale_project();
    let run = |format: &str| {
        let o = p.run(&["diff", "base.json", "new.json", "--format", format]);
        assert_exit(&o, 1);
        stdout(&o)
    };
    let text = run("text");
    assert!(
        text.starts_with("releases: base.json → new.json\n"),
        "{text}"
    );
    assert!(
        text.contains("changes: 1 of 1 components changed\n  api: changed\n"),
        "{text}"
    );
    assert!(
        text.contains("    inputs: digest sha256:111111111111… → sha256:333333333333…\n    output result-api: unchanged (sha256:222222222222…)"),
        "{text}"
    );
    let md = run("markdown");
    assert!(md.contains("**releases**: base.json → new.json"), "{md}");
    assert!(
        md.contains("### Changes\n\n1 of 1 components changed.\n\n- `api`: changed\n"),
        "{md}"
    );
    let junit = run("junit");
    let doc = roxmltree::Document::parse(&junit).unwrap();
    assert_eq!(
        doc.root_element().attribute("name"),
        Some("buildproof diff: base.json → new.json")
    );
    let out = doc
        .descendants()
        .find(|n| n.has_tag_name("system-out") && n.parent().unwrap().has_tag_name("testsuite"))
        .unwrap();
    assert!(
        out.text().unwrap().starts_with("  api: changed\n"),
        "{junit}"
    );
    let github = run("github");
    assert!(
        github.starts_with("buildproof diff: base.json → new.json\n"),
        "{github}"
    );
    assert!(github.contains("\n  api: changed\n"), "{github}");
    let sarif: Value = serde_json::from_str(&run("sarif")).unwrap();
    validate_sarif(&sarif);
    let props = &sarif["runs"][0]["properties"];
    assert_eq!(props["changes"][0]["component"], "api");
    assert_eq!(props["releases"]["base"]["name"], "base.json");
    let html = run("html");
    assert!(html.contains("id=\"component-api\""), "{html}");
    assert!(html.contains("<p class=\"releases\" id=\"releases\">base.json → new.json</p>"));
}

/// Text polish seen in use (issue 14, point 10): a stale image says it was not rebuilt
/// or did not see the change, not Nix's fixed-output hash; a `stale-artifact` and an
/// `input-excluded` with one cause name each other; a CRLF script is pointed at among
/// the inputs (and SARIF places the finding there).
#[test]
fn messages_name_the_cause_where_the_fix_is() {
    let digest = |n: u32| format!("sha256:{n:064x}");
    let manifest = |notes: u32, index: u32| {
        json!({
            "schema": "buildproof.manifest/v1", "created": "2026-01-01T00:00:00Z",
            "generator": "buildproof 0.1.0",
            "components": {"web": {
                "inputs": {"digest": digest(notes + index), "files": [
                    {"path": "web/NOTES.md", "kind": "file", "size": 3, "digest": digest(notes)},
                    {"path": "web/index.html", "kind": "file", "size": 3, "digest": digest(index)},
                    {"path": "web/bin/start.sh", "kind": "executable", "size": 3, "digest": digest(9)}]},
                "image": {"manifest_digest": digest(1), "content_digest": digest(2),
                          "startup": {"entrypoint": ["/app/bin/start.sh"]},
                          "problems": [{"kind": {"type": "shebang-crlf"}, "path": "/app/bin/start.sh",
                                        "message": "`/app/bin/start.sh` has a `#!` line ending in `\\r`"}]},
                "dockerfile": {"path": "web/Dockerfile",
                               "stage": {"base": "scratch", "line": 1},
                               "startup": {"entrypoint": {"value": "[\"/app/bin/start.sh\"]", "line": 4}},
                               "excluded": [{"path": "web/NOTES.md", "reason": "dockerignore",
                                             "pattern": "*.md", "file": "web/.dockerignore", "line": 1}]}
            }}
        })
        .to_string()
    };
    let p = Project::new();
    p.write("v1.json", manifest(100, 200))
        .write("v2.json", manifest(101, 201));
    let o = p.run(&["diff", "v1.json", "v2.json", "--format", "json"]);
    assert_exit(&o, 1);
    let all = findings(&o);
    let message = |rule: &str| -> String {
        all.iter()
            .find(|f| f["rule"] == rule)
            .unwrap_or_else(|| panic!("no {rule}: {all:?}"))["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let stale = message("stale-artifact");
    assert!(stale.contains("the image was not rebuilt, or its build did not see the change (`.dockerignore`, the Dockerfile's `COPY` lines)"), "{stale}");
    assert!(!stale.contains("fixed-output hash"), "{stale}");
    assert!(
        stale.ends_with("; `web/NOTES.md` cannot reach the build at all (see `input-excluded`)"),
        "{stale}"
    );
    let excluded = message("input-excluded");
    assert!(excluded.ends_with("; this is why `stale-artifact` fired for this component: the change cannot reach the artifact"), "{excluded}");
    let broken = message("startup-broken");
    assert!(
        broken.contains("the script is `web/bin/start.sh` among the inputs"),
        "{broken}"
    );

    let o = p.run(&["diff", "v1.json", "v2.json", "--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&o.stdout).unwrap();
    validate_sarif(&sarif);
    let crlf = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "startup-broken")
        .unwrap();
    let loc = &crlf["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "web/bin/start.sh");
    assert_eq!(loc["region"]["startLine"], 1);
    assert_eq!(
        crlf["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "web/Dockerfile"
    );
}
