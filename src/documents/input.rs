//! What clients send to create document templates and generate documents from them.

use crate::http::Patch;
use utoipa::ToSchema;

/// A new document template.
#[derive(Clone, Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateIn {
    /// Names the template when generating, e.g. `maintenance_offer`.
    #[schema(example = "maintenance_offer", pattern = "^[a-z][a-z0-9_]{0,62}$")]
    pub key: String,
    #[schema(example = "Maintenance offer", min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// A minijinja (Jinja2) template of HTML. It reads `contract` (every field, `attributes`
    /// included), `parent` (the parent contract or null), `installations` (the covered ones,
    /// each with `valid_from`/`valid_to`) and `obligations`. Values are HTML-escaped.
    #[schema(example = "<h1>{{ contract.title }}</h1><p>{{ contract.attributes.region }}</p>", max_length = 262144)]
    pub body: String,
}

/// A change of a document template: absent fields stay.
#[derive(Clone, Debug, Default, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePatch {
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = String, max_length = 262144)]
    pub body: Patch<String>,
}

/// What to generate.
#[derive(Clone, Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateIn {
    /// The template's key.
    #[schema(example = "maintenance_offer")]
    pub template: String,
    /// Default: the template's name.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub title: Option<String>,
    /// Default: `<template key>.html`.
    #[schema(min_length = 1, max_length = 255)]
    pub filename: Option<String>,
}
