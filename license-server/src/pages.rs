//! Server-rendered pages (askama templates in `templates/`).

use askama::Template;

use crate::error::ProblemType;

/// `/problems/<slug>`: what a problem type means.
#[derive(Template)]
#[template(path = "problem.html")]
pub struct ProblemPage<'a> {
    /// The problem shown.
    pub kind: &'a ProblemType,
    /// All problem types, listed below it.
    pub all: &'a [ProblemType],
}

/// `/`: what this server is and where to start.
#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    /// The public base URL.
    pub base: &'a str,
    /// Server version.
    pub version: &'a str,
}
