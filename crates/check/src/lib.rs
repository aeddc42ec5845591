//! `ferroha_check`: an OCF resource-agent contract checker, stricter than `ocf-tester`.
//!
//! It runs an agent executable through ocf-tester's action sequence and adds what ocf-tester misses:
//! role reporting after promote/demote, required-parameter handling, notify with Pacemaker's
//! variables, an exit reason on every failure code, advertised timeouts, meta-data validation against
//! both the DTD and the RelaxNG schema, and a clean environment for every action. Each check is a
//! [`Step`] in a [`Report`]; `docs/ferroha-check.md` lists them all.
//!
//! # Example
//!
//! An agent's integration test (`CARGO_BIN_EXE_vip` exists only inside the `vip` package):
//!
//! ```no_run
//! let state = std::env::temp_dir().join("vip-check");
//! let report = ferroha_check::Checker::new("/usr/lib/ocf/resource.d/ferroha/vip")
//!     .instance("vip-check")
//!     .param("ip", "192.0.2.10")
//!     .param("nic", "dummy0")
//!     .wrapper(&["ip", "netns", "exec", "ns1"])
//!     .absent("OCF_RESKEY_ip_binary", "/nonexistent/ip")
//!     .env("HA_RSCTMP", &state.to_string_lossy())
//!     .run();
//! assert!(report.passed(), "{report}");
//! ```
//!
//! # Safety of the run
//!
//! The checker refuses to run against a resource that is already running (the initial monitor must
//! return 7), kills any action at twice its timeout together with its process group, and always ends
//! with a demote (if it promoted) and a stop of whatever it started, even after an abort.

mod checker;
mod exec;
mod metadata;
mod reason;
mod report;
pub mod schema;
mod sys;
mod timeout;

pub use checker::{Checker, DEFAULT_OCF_ROOT, DEFAULT_PATH, DTD_PATH, RNG_PATH};
pub use metadata::{Action, DEFAULT_TIMEOUT, Metadata, MetadataError, Parameter};
pub use reason::{EXIT_REASON_PREFIX, ExitReason, code_name, exit_reason, needs_exit_reason};
pub use report::{Abort, Outcome, Report, Status, Step};
pub use timeout::{TimeoutError, parse_timeout};
