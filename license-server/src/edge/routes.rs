//! Resources built method by method, so that a method they do not take is answered `405
//! method-not-allowed` with an `Allow` header listing the ones they do (RFC 9110 §15.5.6), as
//! problem+json like every other error. Every `GET` also answers `HEAD`.
//!
//! ```text
//! cfg.service(at("/v1/titles").get(titles::list).post(titles::create).finish());
//! ```

use actix_web::http::{Method, header};
use actix_web::{FromRequest, Handler, HttpResponse, Resource, Responder, guard, web};

use crate::error::{ApiError, problem};

/// A resource being built.
pub struct Routes {
    resource: Resource,
    methods: Vec<String>,
}

/// Starts a resource at `path`.
pub fn at(path: &str) -> Routes {
    Routes { resource: web::resource(path), methods: Vec::new() }
}

impl Routes {
    fn route<F, Args>(mut self, method: Method, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let route = if method == Method::GET {
            self.methods.extend(["GET".to_owned(), "HEAD".to_owned()]);
            web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
        } else {
            self.methods.push(method.as_str().to_owned());
            web::route().method(method)
        };
        self.resource = self.resource.route(route.to(handler));
        self
    }

    /// Answers `GET` (and `HEAD`) with `handler`.
    pub fn get<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::GET, handler)
    }

    /// Answers `POST` with `handler`.
    pub fn post<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::POST, handler)
    }

    /// Answers `PUT` with `handler`.
    pub fn put<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::PUT, handler)
    }

    /// Answers `PATCH` with `handler`.
    pub fn patch<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::PATCH, handler)
    }

    /// Answers `DELETE` with `handler`.
    pub fn delete<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::DELETE, handler)
    }

    /// The resource, answering other methods with a 405 that lists these.
    pub fn finish(self) -> Resource {
        let allow = self.methods.join(", ");
        self.resource.default_service(web::to(move || {
            let allow = allow.clone();
            async move {
                Err::<HttpResponse, _>(
                    ApiError::new(
                        problem::METHOD_NOT_ALLOWED,
                        format!("this resource does not accept this method; it accepts {allow}"),
                    )
                    .header(header::ALLOW, allow),
                )
            }
        }))
    }
}
