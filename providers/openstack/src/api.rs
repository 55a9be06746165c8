//! Small helpers over [`Cloud::call`]: get (a 404 is `None`), list, create, update, delete (a
//! 404 is `false`).

use reqwest::Method;
use serde_json::Value;

use crate::client::{ApiError, Cloud, Service};

impl Cloud {
    /// `GET path`: the object under `key`, `None` on 404.
    pub(crate) async fn get(
        &mut self,
        service: Service,
        path: &str,
        key: &str,
    ) -> Result<Option<Value>, ApiError> {
        match self.call(service, Method::GET, path, &[], None).await {
            Ok(mut body) => Ok(Some(take(&mut body, key))),
            Err(e) if e.not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET path?query`: the list under `key`.
    pub(crate) async fn list(
        &mut self,
        service: Service,
        path: &str,
        key: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<Value>, ApiError> {
        let mut body = self.call(service, Method::GET, path, query, None).await?;
        match take(&mut body, key) {
            Value::Array(items) => Ok(items),
            Value::Null => Ok(Vec::new()),
            other => Err(ApiError {
                status: None,
                message: format!("GET {path}: expected a list under `{key}`, found {other}"),
                hint: None,
            }),
        }
    }

    /// `method path` with `body`: the object under `key` of the answer (`null` when absent).
    pub(crate) async fn send_json(
        &mut self,
        service: Service,
        method: Method,
        path: &str,
        body: &Value,
        key: &str,
    ) -> Result<Value, ApiError> {
        let mut answer = self.call(service, method, path, &[], Some(body)).await?;
        Ok(take(&mut answer, key))
    }

    /// `DELETE path`: whether it existed (a 404 is `false`).
    pub(crate) async fn delete(&mut self, service: Service, path: &str) -> Result<bool, ApiError> {
        match self.call(service, Method::DELETE, path, &[], None).await {
            Ok(_) => Ok(true),
            Err(e) if e.not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// `body[key]` taken out (the whole body when `key` is empty).
fn take(body: &mut Value, key: &str) -> Value {
    if key.is_empty() {
        return body.take();
    }
    body.get_mut(key).map(Value::take).unwrap_or(Value::Null)
}

/// The text at `key` of `value`, or empty.
pub(crate) fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}
