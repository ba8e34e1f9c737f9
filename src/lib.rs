//! dmosopt: surrogate-assisted multi-objective optimization of expensive, constrained
//! simulations.
//!
//! Layering (see `docs/architecture.md`): the core modules ([`space`], [`problem`],
//! [`problems`], [`sampling`], [`moea`], [`indicators`], [`strategy`]) are pure Rust and never
//! import `tch`, `mpi` or `hdf5`; libtorch lives only in [`surrogate::torch`], HDF5 only in
//! [`store`], MPI only in [`dist`]. [`eval`] evaluates candidates, [`driver`] connects
//! strategy, evaluators and store in one process, [`dist`] across the ranks of an MPI job,
//! [`deadline`] says when to stop, and [`commands`] are the CLI's subcommands.

pub mod cli;
pub mod commands;
pub mod config;
pub mod deadline;
pub mod dist;
pub mod driver;
pub mod eval;
pub mod indicators;
pub mod moea;
pub mod problem;
pub mod problems;
pub mod report;
pub mod sampling;
pub mod space;
pub mod store;
pub mod strategy;
pub mod surrogate;
