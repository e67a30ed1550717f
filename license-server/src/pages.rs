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

/// `/widget/player`: the player inside the widget's iframe.
#[derive(Template)]
#[template(path = "widget_player.html")]
pub struct PlayerPage<'a> {
    /// `light`, `dark` or `auto`.
    pub theme: &'a str,
    /// Title.
    pub name: &'a str,
    /// Author.
    pub author: Option<&'a str>,
    /// Cover image URL.
    pub cover: Option<&'a str>,
    /// Price text (`4.99 EUR`), or empty.
    pub price: String,
    /// Total seconds.
    pub duration: String,
    /// The player's configuration, JSON safe to put in a script block.
    pub config: String,
}

/// `/widget/demo/checkout`: the demo store's test checkout.
#[derive(Template)]
#[template(path = "widget_checkout.html")]
pub struct CheckoutPage<'a> {
    /// Title.
    pub name: &'a str,
    /// Price text.
    pub price: String,
}

/// `/demo`: the demo store's title in the widget, with its snippet.
#[derive(Template)]
#[template(path = "widget_demo.html")]
pub struct DemoPage<'a> {
    /// Title id.
    pub title: &'a str,
    /// Title name.
    pub name: &'a str,
    /// The snippet that embeds it.
    pub snippet: String,
    /// Origins allowed to embed it.
    pub origins: Vec<String>,
}
