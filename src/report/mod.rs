//! User-facing reports: the Pareto front of a result file as a table, CSV or JSON.
pub mod front;
