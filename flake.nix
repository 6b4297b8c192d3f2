{
  description = "buildproof: prove that what ships is what was built from what changed";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      # builtins only (no nixpkgs.lib), so the outputs can be evaluated with a stub
      # nixpkgs in tests/cli/nix.rs.
      forAllSystems =
        f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f nixpkgs.legacyPackages.${system};
          }) systems
        );
      cargoToml = builtins.fromTOML (builtins.readFile ./Cargo.toml);
      systemOf = pkgs: pkgs.stdenv.hostPlatform.system;

      # The package, built from Cargo.lock (no vendor hash to keep in sync); used by
      # `packages` and `overlays.default`.
      buildproofFor =
        pkgs:
        pkgs.rustPlatform.buildRustPackage {
          pname = "buildproof";
          inherit (cargoToml.package) version;
          src = self;
          cargoLock.lockFile = ./Cargo.lock;
          # Tests that need buildah, podman, skopeo or a writable Nix store skip
          # themselves outside CI (tests/cli/support.rs `require_tool`); the
          # build sandbox has none of them.
          nativeCheckInputs = [ pkgs.git ];
          meta = {
            inherit (cargoToml.package) description;
            mainProgram = "buildproof";
            license = [
              pkgs.lib.licenses.mit
              pkgs.lib.licenses.asl20
            ];
          };
        };

      # Runs `buildproof check` on a copy of `src` in the build sandbox; the build
      # fails unless buildproof exits with `expectExit` (0: no finding at the
      # `failOn` level, so a stale artifact, a startup change, a startup that cannot
      # work or a deployed mismatch fails it; with `failOn = "warning"`, a source
      # filter that hides a declared input does too). `$out/report.txt` holds the
      # report.
      mkCheck =
        {
          pkgs,
          # The tree holding the config, the inputs and the outputs (usually `self`).
          src,
          # The manifest to compare with: a path or derivation (e.g. a non-flake
          # input: `"${deployed}/deployed.json"`), or a string relative to `src`.
          against,
          # The config, relative to `src`.
          config ? "buildproof.toml",
          # Outputs to place in the tree before checking, e.g.
          # `{ "result-goinstance" = self.packages.${system}.goinstance; }`: each
          # becomes a link into the store, as `nix build -o` leaves it.
          outputs ? { },
          # The derivations of the components, by component name, e.g.
          # `{ goinstance = self.packages.${system}.goinstance; }`. Each one's `.drv`
          # (with its derivation closure: the filtered sources) is put into the
          # sandbox and handed over with `--nix-drv`, so `input-excluded` (a source
          # filter hiding a declared input) and `output-not-current` are judged
          # there, with the same config as outside: its `nix` keys are not evaluated.
          packages ? { },
          # The lowest finding level that fails the check: "error", "warning" (also
          # fail when a source filter hides a declared input) or "never".
          failOn ? "error",
          buildproof ? self.packages.${systemOf pkgs}.default,
          name ? "buildproof-check",
          expectExit ? 0,
        }:
        assert
          builtins.elem failOn [
            "error"
            "warning"
            "never"
          ]
          || throw "mkCheck: failOn is \"${failOn}\"; expected \"error\", \"warning\" or \"never\"";
        let
          againstArg =
            if builtins.isString against && builtins.substring 0 1 against != "/" then
              against
            else
              "${against}";
          links = builtins.concatStringsSep "\n" (
            builtins.attrValues (
              builtins.mapAttrs (path: drv: ''
                mkdir -p "$(dirname '${path}')"
                rm -rf '${path}'
                ln -s ${drv} '${path}'
              '') outputs
            )
          );
          # `drvPath` carries the derivation closure into the sandbox: the `.drv`
          # files and the sources they copy (buildproof reads them, not the outputs).
          drvArgs = builtins.concatStringsSep " " (
            builtins.attrValues (
              builtins.mapAttrs (component: drv: "--nix-drv '${component}=${drv.drvPath}'") packages
            )
          );
        in
        pkgs.runCommand name { } ''
          cp -R ${src} work
          chmod -R u+w work
          cd work
          ${links}
          mkdir -p $out
          status=0
          ${buildproof}/bin/buildproof check -c '${config}' --against '${againstArg}' \
            --fail-on ${failOn} ${drvArgs} --output $out/report.txt || status=$?
          cat $out/report.txt 2>/dev/null || true
          if [ "$status" != ${toString expectExit} ]; then
            echo "buildproof check exited $status, expected ${toString expectExit}" >&2
            exit 1
          fi
        '';
    in
    {
      packages = forAllSystems (
        pkgs:
        let
          buildproof = buildproofFor pkgs;
        in
        {
          inherit buildproof;
          default = buildproof;
        }
      );

      # `pkgs.buildproof` for a NixOS or home-manager configuration, or any
      # nixpkgs: `nixpkgs.overlays = [ buildproof.overlays.default ];`.
      overlays.default = final: prev: { buildproof = buildproofFor final; };

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${systemOf pkgs}.default}/bin/buildproof";
          meta.description = cargoToml.package.description;
        };
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.cargo
            pkgs.rustc
            pkgs.clippy
            pkgs.rustfmt
            pkgs.rust-analyzer
            pkgs.git
            pkgs.nix
            pkgs.skopeo
          ]
          ++ (
            if pkgs.stdenv.isLinux then
              [
                pkgs.buildah
                pkgs.podman
                pkgs.runc
                pkgs.busybox
              ]
            else
              [ ]
          );
        };
      });

      checks = forAllSystems (
        pkgs:
        {
          # `cargo test` runs in the package's checkPhase.
          package = self.packages.${systemOf pkgs}.default;
          # A fixture whose deployed manifest matches its tree: must pass (exit 0).
          fixture = mkCheck {
            inherit pkgs;
            src = ./testdata/nix/flake-check;
            against = "deployed.json";
            name = "buildproof-check-fixture";
          };
        }
        // (
          if builtins.pathExists ./testdata/demo/buildproof.toml then
            {
              # The demo is built to show a stale artifact: exit 1 is its success.
              demo = mkCheck {
                inherit pkgs;
                src = self;
                config = "testdata/demo/buildproof.toml";
                against = "testdata/demo/deployed.json";
                name = "buildproof-check-demo";
                expectExit = 1;
              };
            }
          else
            { }
        )
      );

      lib = { inherit mkCheck; };
    };
}
