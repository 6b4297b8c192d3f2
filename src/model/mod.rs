//! The ground floor: the plain data every layer above shares. Manifest records (what
//! a snapshot recorded of files, outputs, images, Dockerfiles and Nix), the running
//! state `verify` compares with, and findings with their rule ids, levels and
//! locations.
//!
//! Nothing here does I/O or imports a module above [`crate::digest`]: producers
//! (`tree`, `nar`, `image`, `dockerfile`, `nix`, `deploy`) fill these types in, the
//! rules read them, the reports render findings. `docs/architecture.md` draws the
//! layers.

pub mod changes;
pub mod dockerfile;
pub mod finding;
pub mod image;
pub mod manifest;
mod manifest_json;
pub(crate) use manifest_json::{push_decimal, string as push_json_string};
pub mod nix;
pub mod rule;
pub mod running;

pub use finding::{Finding, Level, Location};
pub use manifest::{ComponentRecord, FileKind, FileRecord, InputsRecord, Manifest, OutputRecord};
pub use rule::RuleId;
