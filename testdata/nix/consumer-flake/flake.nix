# A user's flake that gates on buildproof, shaped like the README's example
# ("Use as a Nix flake check"). tests/cli/nix.rs copies it beside the files of
# ../flake-check and runs `nix flake check` with both inputs overridden by local
# paths (no network): it must pass on that tree and fail once a source changes
# without a new artifact.
{
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    buildproof.url = "github:example/buildproof";
    buildproof.inputs.nixpkgs.follows = "nixpkgs";
  };

  outputs =
    {
      self,
      nixpkgs,
      buildproof,
    }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
    in
    {
      checks.${system}.buildproof = buildproof.lib.mkCheck {
        inherit pkgs;
        src = self;
        against = "deployed.json";
      };
    };
}
