//! `dmosopt check`: validate a config and print the resolved configuration.

use crate::cli::CheckArgs;
use crate::config;

pub fn check(args: &CheckArgs) -> anyhow::Result<()> {
    let resolved = config::load(&args.config, &args.overrides.set)?;
    print!("{}", resolved.to_toml());
    Ok(())
}
