# A user's flake that gates on buildproof, shaped like the README's example ("Use as a
# Nix flake check"). tests/cli/nix.rs copies this directory, overrides every input by
# a local path (no network: nixpkgs by ../stub-nixpkgs, `deployed` by a directory
# holding the release's manifest) and runs `nix flake check` in the sandbox.
#
# The source filter below was meant to drop editor litter but keeps only `main.go`:
# `util.go` never reaches the build. The check must fail naming `src/util.go` and the
# filtered source `app-src`, and pass once the filter lets it through.
{
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    buildproof.url = "github:example/buildproof";
    buildproof.inputs.nixpkgs.follows = "nixpkgs";
    # The manifest of the deployed release, published by the release job: not a flake,
    # and not inside this flake's source. `nix flake update deployed` moves it on.
    deployed = {
      url = "git+https://git.example.com/shop/releases?ref=production";
      flake = false;
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      buildproof,
      deployed,
    }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
    in
    {
      packages.${system}.app = pkgs.runCommand "app" {
        src = builtins.path {
          path = ./src;
          name = "app-src";
          filter = path: type: baseNameOf path == "main.go"; # the filter
        };
      } "mkdir -p $out/bin; cat $src/* > $out/bin/app";

      checks.${system}.buildproof = buildproof.lib.mkCheck {
        inherit pkgs;
        src = self;
        against = "${deployed}/deployed.json";
        # Judged in the sandbox from the package's `.drv`, with the same
        # buildproof.toml as outside (its `nix = ".#app"` is not evaluated here).
        packages.app = self.packages.${system}.app;
        outputs."result-app" = self.packages.${system}.app;
        # Fail on `input-excluded` too: a filter that hides a declared input.
        failOn = "warning";
      };
    };
}
