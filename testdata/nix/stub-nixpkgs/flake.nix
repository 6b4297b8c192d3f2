# A stand-in for nixpkgs as a flake, for `nix flake check --override-input nixpkgs
# path:…` in tests/cli/nix.rs. The test writes `binary.nix` beside this file:
# `{ path = "/abs/path/to/buildproof"; run = "<unique per run>"; }`.
{
  outputs =
    { self }:
    let
      binary = import ./binary.nix;
    in
    {
      legacyPackages = builtins.listToAttrs (
        map
          (system: {
            name = system;
            value = import ./pkgs.nix {
              inherit system;
              buildproof = binary.path;
              inherit (binary) run;
            };
          })
          [
            "x86_64-linux"
            "aarch64-linux"
            "x86_64-darwin"
            "aarch64-darwin"
          ]
      );
    };
}
