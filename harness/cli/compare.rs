//! `wpbench compare`: two runs side by side, per cell and op, as ratios
//! with intervals and verdicts across the repeats.

use std::path::Path;
use std::process::ExitCode;

use super::args::CompareFormat;
use super::gating::read_run;
use crate::error::{Error, Result};
use crate::report;

pub(super) fn compare(
    base: &Path,
    new: &Path,
    format: CompareFormat,
    min_effect: f64,
) -> Result<ExitCode> {
    let (base, new) = (read_run(base)?, read_run(new)?);
    let c = report::compare::compare(&base, &new, min_effect);
    let text = match format {
        CompareFormat::Text => report::compare::render_text(&c),
        CompareFormat::Markdown => report::compare::render_markdown(&c),
        CompareFormat::Html => {
            report::compare::render_html(&c, &report::compare::spectra(&base, &new, &c))
        }
        CompareFormat::Json => {
            let mut s = serde_json::to_string_pretty(&c).map_err(|e| Error::Run(e.to_string()))?;
            s.push('\n');
            s
        }
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
