# Just enough of nixpkgs for this repository's flake.nix, for tests without network
# or nixpkgs (tests/cli/nix.rs). Derivations are `builtins.derivation` over the host's
# /bin/sh, so building them needs `--option sandbox false`.
#
# `buildproof`: the absolute path of an already built binary, as a string (a path
# outside the flake cannot be a Nix path in pure evaluation). The stub
# `buildRustPackage` copies it into `$out/bin` instead of compiling, so the flake's
# checks run the binary under test. `run` goes into that derivation, so a new value
# builds everything anew instead of reusing an earlier run's copy of the binary.
{
  system,
  buildproof,
  run ? "",
}:
let
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
in
{
  inherit runCommand;
  stdenv = {
    hostPlatform.system = system;
    isLinux = true;
  };
  lib.licenses = {
    mit = "MIT";
    asl20 = "Apache-2.0";
  };
  rustPlatform.buildRustPackage =
    args:
    assert builtins.isPath args.cargoLock.lockFile;
    runCommand "${args.pname}-${args.version}" { inherit run; } ''
      mkdir -p $out/bin
      cp ${buildproof} $out/bin/buildproof
    '';
  mkShell = args: runCommand "shell" { packages = map toString args.packages; } "echo > $out";
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
}
