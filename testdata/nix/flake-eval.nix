# Evaluates this repository's flake.nix without nixpkgs (tests/cli/nix.rs): a stub
# `nixpkgs` supplies just what the flake calls, with `runCommand` built on
# `builtins.derivation` and the host's /bin/sh (so it needs `--option sandbox false`).
#
#   nix-instantiate --eval --strict testdata/nix/flake-eval.nix -A summary --arg repo ./.
#   nix-build testdata/nix/flake-eval.nix -A check --arg repo ./. \
#     --argstr bin DIR_WITH_bin/buildproof --arg src ./tree --argstr against deployed.json
{
  repo,
  bin ? "/nonexistent",
  src ? null,
  against ? "deployed.json",
  expect ? 0,
}:
let
  flake = import (repo + "/flake.nix");
  system = builtins.currentSystem;
  systems = [
    "x86_64-linux"
    "aarch64-linux"
    "x86_64-darwin"
    "aarch64-darwin"
  ];
  stub =
    name: attrs:
    builtins.derivation (
      {
        inherit name system;
        builder = "/bin/sh";
        args = [
          "-c"
          "echo stub > $out"
        ];
      }
      // attrs
    );
  pkgsFor = system: {
    stdenv = {
      hostPlatform.system = system;
      isLinux = true;
    };
    lib.licenses = {
      mit = "MIT";
      asl20 = "Apache-2.0";
    };
    rustPlatform.buildRustPackage =
      a:
      assert builtins.isPath a.cargoLock.lockFile;
      stub a.pname { inherit (a) version; };
    mkShell = a: stub "shell" { packages = map toString a.packages; };
    runCommand =
      name: env: script:
      builtins.derivation (
        env
        // {
          inherit name system;
          builder = "/bin/sh";
          args = [
            "-c"
            ("set -eu\n" + script)
          ];
          PATH = "/bin:/usr/bin";
        }
      );
    cargo = "cargo";
    rustc = "rustc";
    clippy = "clippy";
    rustfmt = "rustfmt";
    rust-analyzer = "rust-analyzer";
    git = "git";
    nix = "nix";
    skopeo = "skopeo";
    buildah = "buildah";
    podman = "podman";
    runc = "runc";
    busybox = "busybox";
  };
  nixpkgs.legacyPackages = builtins.listToAttrs (
    map (s: {
      name = s;
      value = pkgsFor s;
    }) systems
  );
  # `self` is never copied here (the checkout holds target/); only its outputs are used.
  self = outputs // {
    outPath = "/nonexistent-self";
  };
  outputs = flake.outputs { inherit self nixpkgs; };
in
{
  summary = {
    systems = builtins.attrNames outputs.packages;
    package = outputs.packages.${system}.default.drvPath;
    app = outputs.apps.${system}.default.program;
    shell = outputs.devShells.${system}.default.drvPath;
    checks = builtins.attrNames outputs.checks.${system};
    fixture = outputs.checks.${system}.fixture.drvPath;
    mkCheck =
      (outputs.lib.mkCheck {
        pkgs = pkgsFor system;
        src = repo + "/testdata/nix/flake-check";
        against = "deployed.json";
      }).type;
  };
  check = outputs.lib.mkCheck {
    pkgs = pkgsFor system;
    inherit src against;
    buildproof = bin;
    expectExit = expect;
  };
}
