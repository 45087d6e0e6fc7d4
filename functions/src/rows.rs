//! What functions that manage one member-owned row at a time share: the row's `?id=`, and
//! deleting it as the caller (RLS lets only its owner; anyone else deletes nothing).

use bytes::Bytes;
use http::Request;
use serde_json::Value;
use shared::error::ApiError;
use shared::postgrest::{Postgrest, send_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

/// The `id` the query names (and nothing else); `what` says whose id, for the error.
pub fn required_id(request: &Request<Bytes>, what: &str) -> Result<Uuid, ApiError> {
    let mut query = QueryParams::of(request)?;
    let id = query.require("id", &format!("{what} id (UUID)"))?;
    query.finish()?;
    Ok(id)
}

/// Deletes row `id` of `table` as the caller; the row deleted, or `None` when the caller has
/// no such row (missing, someone else's, another organization's).
pub async fn delete(
    ctx: &Ctx,
    client: &Postgrest,
    table: &str,
    id: Uuid,
) -> Result<Option<Value>, ApiError> {
    let deleted: Vec<Value> = send_json(ctx, client.from(table).eq("id", id).delete()?).await?;
    Ok(deleted.into_iter().next())
}
