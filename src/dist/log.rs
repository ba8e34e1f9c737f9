//! The MPI rank in every log line: a `tracing` event formatter that writes `[rank N] ` before
//! the line of the wrapped formatter.

use std::fmt;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Prefixes every event with the rank.
pub struct RankPrefix<F> {
    rank: usize,
    inner: F,
}

impl<F> RankPrefix<F> {
    pub fn new(rank: usize, inner: F) -> Self {
        Self { rank, inner }
    }
}

impl<S, N, F> FormatEvent<S, N> for RankPrefix<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "[rank {}] ", self.rank)?;
        self.inner.format_event(context, writer, event)
    }
}
