//! Jobs as a store sees them: `GET /v1/jobs/{id}`, to follow work Fount does in the
//! background for it (an upload being packaged, a replay of webhooks).

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::StoreAuth;
use crate::db::JobRow;
use crate::error::ApiError;
use crate::state::AppState;

/// A job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    /// Id (`job_…`).
    pub id: String,
    /// What it does: `track.package`, `webhook.deliver`, `webhook.replay`, `queue.probe`.
    pub kind: String,
    /// `queued` (waiting for a worker, or for its time), `running`, `completed` or `dead`
    /// (it failed every attempt; the operator can retry it).
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// What it produced, once completed; the kind says what. `track.package`: the title,
    /// the track's position and the file's warnings, or the error that failed the track.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// When it may run (next), seconds since the epoch.
    pub run_at: i64,
    /// Created.
    pub created_at: i64,
    /// Completed or dead.
    pub finished_at: Option<i64>,
}

impl From<&JobRow> for JobView {
    fn from(j: &JobRow) -> Self {
        let secs = |ms: i64| ms.div_euclid(1000);
        JobView {
            id: j.id.clone(),
            kind: j.kind.clone(),
            state: j.state.clone(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error.clone(),
            result: j.result.as_deref().and_then(|r| serde_json::from_str(r).ok()),
            run_at: secs(j.run_at),
            created_at: secs(j.created_at),
            finished_at: j.finished_at.map(secs),
        }
    }
}

/// One of the store's jobs.
#[utoipa::path(get, operation_id = "jobs_get", path = "/v1/jobs/{job}", tag = "store", security(("api_key" = [])),
    params(("job" = String, Path, description = "Job id (`job_…`)")),
    responses((status = 200, body = JobView), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    auth: StoreAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    match state.repo.job(&path).await? {
        Some(job) if job.store_id.as_deref() == Some(auth.store.id.as_str()) => {
            Ok(HttpResponse::Ok().json(JobView::from(&job)))
        }
        _ => Err(ApiError::not_found("job")),
    }
}
