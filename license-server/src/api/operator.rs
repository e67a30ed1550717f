//! The operator's API (an operator key, `fok_…`, from `fount-server operator-key create`):
//! the queue's health, its jobs, and retrying dead ones. Stores never see these.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::paging;
use super::views::List;
use crate::auth::OperatorAuth;
use crate::db::{JobRow, QueueStats};
use crate::error::{ApiError, problem};
use crate::queue::{JobKind, now_ms};
use crate::state::AppState;

/// A job as the operator sees it: every detail, whatever its store.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorJobView {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// The store it works for.
    pub store: Option<String>,
    /// `queued`, `running`, `completed` or `dead`.
    pub state: String,
    /// Higher runs first.
    pub priority: i64,
    /// Attempts so far.
    pub attempts: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The worker holding it (or that last held it).
    pub worker: Option<String>,
    /// When its lease ends, ms since the epoch, while running.
    pub lease_until: Option<i64>,
    /// When it may run, ms since the epoch.
    pub run_at: i64,
    /// Created, ms since the epoch.
    pub created_at: i64,
    /// Completed or dead, ms since the epoch.
    pub finished_at: Option<i64>,
}

impl From<&JobRow> for OperatorJobView {
    fn from(j: &JobRow) -> Self {
        OperatorJobView {
            id: j.id.clone(),
            kind: j.kind.clone(),
            store: j.store_id.clone(),
            state: j.state.clone(),
            priority: j.priority,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error.clone(),
            worker: j.worker.clone(),
            lease_until: j.lease_until,
            run_at: j.run_at,
            created_at: j.created_at,
            finished_at: j.finished_at,
        }
    }
}

/// `GET /v1/operator/jobs`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobFilter {
    /// Only jobs in this state: `queued`, `running`, `completed` or `dead`.
    #[serde(default)]
    pub state: Option<String>,
    /// Only jobs of this kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// Most items in the page, 1 to 200 (default 50).
    #[serde(default, deserialize_with = "super::paging::de_limit")]
    #[param(minimum = 1, maximum = 200, value_type = Option<u32>)]
    pub limit: Option<u32>,
    /// The `next` cursor of the page before.
    #[serde(default)]
    pub after: Option<String>,
}

/// The queue at a glance: jobs waiting (and for how long the oldest has), running, retrying,
/// dead, and completed in the last hour, in all and by kind.
#[utoipa::path(get, operation_id = "operator_queue", path = "/v1/operator/queue", tag = "operator", security(("operator_key" = [])),
    responses((status = 200, body = QueueStats)))]
pub async fn queue(state: web::Data<AppState>, _auth: OperatorAuth) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.repo.queue_stats(now_ms()).await?))
}

/// Jobs, newest first: `?state=dead` lists those that failed every attempt.
#[utoipa::path(get, operation_id = "operator_jobs", path = "/v1/operator/jobs", tag = "operator", security(("operator_key" = [])), params(JobFilter),
    responses((status = 200, body = List<OperatorJobView>)))]
pub async fn jobs(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    query: web::Query<JobFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = paging::page(paging::List::Jobs, query.limit, query.after.as_deref())?;
    if let Some(s) = query.state.as_deref()
        && !matches!(s, "queued" | "running" | "completed" | "dead")
    {
        return Err(ApiError::new(problem::INVALID_PARAMETER, "`state` must be queued, running, completed or dead"));
    }
    if let Some(k) = query.kind.as_deref()
        && JobKind::parse(k).is_none()
    {
        let kinds: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
        return Err(ApiError::new(problem::INVALID_PARAMETER, format!("`kind` must be one of {}", kinds.join(", "))));
    }
    let rows = state.repo.jobs(query.state.as_deref(), query.kind.as_deref(), &page).await?;
    let next = paging::next(paging::List::Jobs, &rows);
    Ok(HttpResponse::Ok().json(List { items: rows.items.iter().map(OperatorJobView::from).collect(), next }))
}

/// One job.
#[utoipa::path(get, operation_id = "operator_job", path = "/v1/operator/jobs/{job}", tag = "operator", security(("operator_key" = [])),
    params(("job" = String, Path, description = "Job id")),
    responses((status = 200, body = OperatorJobView), (status = 404, body = crate::error::Problem)))]
pub async fn job(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = state.repo.job(&path).await?.ok_or_else(|| ApiError::not_found("job"))?;
    Ok(HttpResponse::Ok().json(OperatorJobView::from(&row)))
}

/// Queues a dead job again, with its attempts reset.
#[utoipa::path(post, operation_id = "operator_retry_job", path = "/v1/operator/jobs/{job}/retry", tag = "operator", security(("operator_key" = [])),
    params(("job" = String, Path, description = "Job id")),
    responses((status = 200, body = OperatorJobView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn retry(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    match state.repo.retry_dead(&path, now_ms()).await? {
        Some(row) => Ok(HttpResponse::Ok().json(OperatorJobView::from(&row))),
        None => match state.repo.job(&path).await? {
            Some(row) => Err(ApiError::new(problem::CONFLICT, format!("the job is {}, not dead", row.state))),
            None => Err(ApiError::not_found("job")),
        },
    }
}
