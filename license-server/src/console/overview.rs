//! A store's overview: licenses issued and listeners per day, and how its webhooks fare.

use actix_web::{HttpResponse, web};

use super::charts::{self, Bar, Chart};
use super::pages::OverviewPage;
use super::session::Session;
use super::stores::nav;
use super::{ConsoleError, html, page};
use crate::db::charts::DAY;
use crate::state::{AppState, now};

/// Days the overview's charts cover.
pub const DAYS: i64 = 30;

/// `/console/stores/{store}/overview`.
pub async fn show(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let store = session.store_row(&state, &path).await?;
    let today = now().div_euclid(DAY);
    let since = today.saturating_sub(DAYS.saturating_sub(1));
    let pairs = |rows: Vec<crate::db::charts::DayCount>| rows.iter().map(|r| (r.day, r.count)).collect::<Vec<_>>();
    let licenses = pairs(state.repo.licenses_per_day(&store.id, since).await?);
    let listeners = pairs(state.repo.listeners_per_day(&store.id, since).await?);
    let attempts = state.repo.webhook_attempts_per_day(&store.id, since).await?;
    let success: Vec<Bar> = (since..=today)
        .map(|day| {
            let a = attempts.iter().find(|a| a.day == day);
            match a {
                Some(a) if a.attempts > 0 => {
                    let share = charts::as_f64(a.succeeded) / charts::as_f64(a.attempts) * 100.0;
                    Bar {
                        label: charts::day_label(day),
                        value: share,
                        text: format!("{share:.0} % of {} attempts", a.attempts),
                    }
                }
                _ => Bar { label: charts::day_label(day), value: 0.0, text: "no attempts".into() },
            }
        })
        .collect();
    let list: Vec<Chart> = vec![
        charts::bars("licenses", "Licenses issued per day", charts::daily(today, DAYS, &licenses), 5.0),
        charts::bars(
            "listeners",
            "Listeners per day (customers who played)",
            charts::daily(today, DAYS, &listeners),
            5.0,
        ),
        charts::bars("webhooks", "Webhook deliveries answered 2xx, % of attempts per day", success, 100.0),
    ];
    let body = page(&OverviewPage { nav: nav(&session, Some(&store), "overview"), store: &store, charts: list })?;
    Ok(html(body))
}
