//! User-facing reports: the Pareto front of a result file as a table, CSV or JSON, and
//! figures of it (PNG or SVG).
pub mod front;
pub mod plot;
