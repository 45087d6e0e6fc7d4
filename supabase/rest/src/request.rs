//! The parts of an HTTP request PostgREST reads: query parameters grouped by embedding path,
//! `Prefer`, `Range` and `Accept`.

use std::collections::{HashMap, HashSet};

use http::{HeaderMap, StatusCode, header};

use crate::error::ApiError;
use crate::parse::{
    Filter, OrderTerm, SelectItem, parse_count, parse_filter, parse_names, parse_order,
    parse_select,
};

/// An embedding path: the output names of the embeds from the root (empty for the root).
pub type Path = Vec<String>;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Page {
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub select: Vec<SelectItem>,
    pub filters: HashMap<Path, Vec<Filter>>,
    pub order: HashMap<Path, Vec<OrderTerm>>,
    pub pages: HashMap<Path, Page>,
    pub columns: Option<Vec<String>>,
    pub on_conflict: Option<Vec<String>>,
    /// Function arguments given in the query string (GET /rpc), in order.
    pub arguments: Vec<(String, String)>,
}

impl Params {
    pub fn filters_at(&self, path: &[String]) -> &[Filter] {
        self.filters.get(path).map_or(&[], Vec::as_slice)
    }

    pub fn order_at(&self, path: &[String]) -> &[OrderTerm] {
        self.order.get(path).map_or(&[], Vec::as_slice)
    }

    pub fn page_at(&self, path: &[String]) -> Page {
        self.pages.get(path).copied().unwrap_or_default()
    }

    /// The embedding paths the select names; filters on any other path are PGRST108.
    fn check_paths(&self) -> Result<(), ApiError> {
        let mut known: HashSet<Path> = HashSet::from([Vec::new()]);
        collect_paths(&self.select, &mut Vec::new(), &mut known);
        let used = self.filters.keys().chain(self.order.keys()).chain(self.pages.keys());
        for path in used {
            if !known.contains(path) {
                let name = path.last().cloned().unwrap_or_default();
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "PGRST108",
                    format!("'{name}' is not an embedded resource in this request"),
                )
                .hint(format!(
                    "Verify that '{name}' is included in the 'select' query parameter."
                )));
            }
        }
        Ok(())
    }
}

fn collect_paths(items: &[SelectItem], prefix: &mut Path, known: &mut HashSet<Path>) {
    for item in items {
        if let SelectItem::Embed(embed) = item {
            prefix.push(embed.output_name().to_owned());
            known.insert(prefix.clone());
            collect_paths(&embed.items, prefix, known);
            prefix.pop();
        }
    }
}

/// Splits `clients.orders.or` into (`[clients, orders]`, `or`), keeping `not.and`/`not.or` whole
/// and JSON paths (`data->a.b` has no embedding path) intact.
fn split_path(key: &str) -> (Path, String) {
    let head = key.split("->").next().unwrap_or(key);
    let mut parts: Vec<&str> = head.split('.').collect();
    let rest_of_key = &key[head.len()..];
    let last = parts.pop().unwrap_or_default();
    let mut name = format!("{last}{rest_of_key}");
    if parts.last() == Some(&"not") && (last == "and" || last == "or") {
        parts.pop();
        name = format!("not.{name}");
    }
    (parts.into_iter().map(str::to_owned).collect(), name)
}

/// Parses the query string. `is_argument` tells which keys are function arguments (GET /rpc).
pub fn parse_params(query: &str, is_argument: impl Fn(&str) -> bool) -> Result<Params, ApiError> {
    let mut params = Params {
        select: vec![SelectItem::Star],
        filters: HashMap::new(),
        order: HashMap::new(),
        pages: HashMap::new(),
        columns: None,
        on_conflict: None,
        arguments: Vec::new(),
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "select" => params.select = parse_select(&value)?,
            "columns" => params.columns = Some(parse_names("columns", &value)?),
            "on_conflict" => params.on_conflict = Some(parse_names("on_conflict", &value)?),
            key if is_argument(key) => params.arguments.push((key.to_owned(), value.into_owned())),
            key => {
                let (path, name) = split_path(key);
                match name.as_str() {
                    "order" => {
                        params.order.insert(path, parse_order(&value)?);
                    }
                    "limit" => {
                        params.pages.entry(path).or_default().limit =
                            Some(parse_count("limit", &value)?);
                    }
                    "offset" => {
                        params.pages.entry(path).or_default().offset =
                            Some(parse_count("offset", &value)?);
                    }
                    _ => params.filters.entry(path).or_default().push(parse_filter(&name, &value)?),
                }
            }
        }
    }
    params.check_paths()?;
    Ok(params)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Return {
    #[default]
    Minimal,
    HeadersOnly,
    Representation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    MergeDuplicates,
    IgnoreDuplicates,
}

/// The `Prefer` header's preferences this engine honours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefer {
    pub return_: Option<Return>,
    pub count: bool,
    pub resolution: Option<Resolution>,
    /// The preferences applied, echoed in `Preference-Applied`.
    pub applied: Vec<String>,
}

impl Prefer {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut prefer = Self::default();
        let values = headers.get_all("prefer").into_iter().filter_map(|v| v.to_str().ok());
        for item in values.flat_map(|v| v.split(',')).map(str::trim) {
            let applied = match item {
                "return=minimal" => Some(prefer.return_.replace(Return::Minimal)),
                "return=headers-only" => Some(prefer.return_.replace(Return::HeadersOnly)),
                "return=representation" => Some(prefer.return_.replace(Return::Representation)),
                "resolution=merge-duplicates" => {
                    prefer.resolution = Some(Resolution::MergeDuplicates);
                    Some(None)
                }
                "resolution=ignore-duplicates" => {
                    prefer.resolution = Some(Resolution::IgnoreDuplicates);
                    Some(None)
                }
                "count=exact" | "count=planned" | "count=estimated" => {
                    prefer.count = true;
                    None
                }
                _ => None,
            };
            if applied.is_some() {
                prefer.applied.push(item.to_owned());
            }
        }
        prefer
    }
}

/// The `Range: first-last` header (items), with `last` open when absent.
pub fn range_header(headers: &HeaderMap) -> Result<Option<(u64, Option<u64>)>, ApiError> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let spec = value.trim().strip_prefix("items=").unwrap_or(value.trim());
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let Ok(first) = first.trim().parse::<u64>() else {
        return Ok(None);
    };
    let last = match last.trim() {
        "" => None,
        text => match text.parse::<u64>() {
            Ok(last) => Some(last),
            Err(_) => return Ok(None),
        },
    };
    if last.is_some_and(|last| last < first) {
        return Err(ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "PGRST103",
            "Requested range not satisfiable",
        )
        .details("The lower boundary must be lower than or equal to the upper boundary"));
    }
    Ok(Some((first, last)))
}

/// The representation a client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Json,
    /// `application/vnd.pgrst.object+json`: exactly one row, as an object.
    Object,
    Csv,
}

impl MediaType {
    pub fn content_type(self) -> &'static str {
        match self {
            MediaType::Json => "application/json; charset=utf-8",
            MediaType::Object => "application/vnd.pgrst.object+json; charset=utf-8",
            MediaType::Csv => "text/csv; charset=utf-8",
        }
    }

    pub fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Ok(MediaType::Json);
        };
        for range in accept.split(',') {
            let essence = range.split(';').next().unwrap_or_default().trim();
            match essence.to_ascii_lowercase().as_str() {
                "application/json" | "*/*" | "application/*" | "" => return Ok(MediaType::Json),
                "application/vnd.pgrst.object+json" | "application/vnd.pgrst.object" => {
                    return Ok(MediaType::Object);
                }
                "text/csv" => return Ok(MediaType::Csv),
                _ => {}
            }
        }
        Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "PGRST107",
            format!("None of these media types are available: {accept}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn keys_split_into_embedding_path_and_name() {
        let check = |key: &str, path: &[&str], name: &str| {
            assert_eq!(
                split_path(key),
                (path.iter().map(|s| s.to_string()).collect(), name.into())
            );
        };
        check("id", &[], "id");
        check("clients.name", &["clients"], "name");
        check("clients.not.or", &["clients"], "not.or");
        check("not.and", &[], "not.and");
        check("a.b.limit", &["a", "b"], "limit");
        check("data->a.b", &[], "data->a.b");
    }

    #[test]
    fn params_group_filters_order_and_pages_by_path() {
        let params = parse_params(
            "select=id,clients(name)&id=gt.1&clients.name=eq.x&order=id.desc&clients.limit=2\
             &limit=10&offset=5&or=(id.eq.1,id.eq.2)",
            |_| false,
        )
        .unwrap();
        assert_eq!(params.filters_at(&[]).len(), 2);
        assert_eq!(params.filters_at(&["clients".to_owned()]).len(), 1);
        assert_eq!(params.order_at(&[]).len(), 1);
        assert_eq!(params.page_at(&[]), Page { limit: Some(10), offset: Some(5) });
        assert_eq!(params.page_at(&["clients".to_owned()]).limit, Some(2));
    }

    #[test]
    fn a_filter_on_a_resource_not_embedded_is_pgrst108() {
        let error = parse_params("clients.name=eq.x", |_| false).unwrap_err();
        assert_eq!((error.code.as_str(), error.status.as_u16()), ("PGRST108", 400));
    }

    #[test]
    fn function_arguments_are_kept_apart_from_filters() {
        let params = parse_params("a=1&b=eq.2", |k| k == "a").unwrap();
        assert_eq!(params.arguments, vec![("a".to_owned(), "1".to_owned())]);
        assert_eq!(params.filters_at(&[]).len(), 1);
    }

    #[test]
    fn prefer_reads_return_count_and_resolution() {
        let prefer = Prefer::from_headers(&headers(&[
            ("prefer", "return=representation, count=exact"),
            ("prefer", "resolution=merge-duplicates"),
        ]));
        assert_eq!(prefer.return_, Some(Return::Representation));
        assert!(prefer.count);
        assert_eq!(prefer.resolution, Some(Resolution::MergeDuplicates));
        assert_eq!(prefer.applied, vec!["return=representation", "resolution=merge-duplicates"]);
    }

    #[test]
    fn ranges_parse_and_a_reversed_one_is_416() {
        assert_eq!(range_header(&headers(&[("range", "0-9")])).unwrap(), Some((0, Some(9))));
        assert_eq!(range_header(&headers(&[("range", "5-")])).unwrap(), Some((5, None)));
        assert_eq!(range_header(&headers(&[])).unwrap(), None);
        let error = range_header(&headers(&[("range", "9-1")])).unwrap_err();
        assert_eq!((error.code.as_str(), error.status.as_u16()), ("PGRST103", 416));
    }

    #[test]
    fn accept_chooses_json_object_or_csv() {
        let check = |accept: &'static str, expected: MediaType| {
            assert_eq!(MediaType::from_headers(&headers(&[("accept", accept)])).unwrap(), expected);
        };
        check("application/json", MediaType::Json);
        check("application/vnd.pgrst.object+json", MediaType::Object);
        check("text/csv", MediaType::Csv);
        check("text/html, */*;q=0.8", MediaType::Json);
        let error = MediaType::from_headers(&headers(&[("accept", "text/html")])).unwrap_err();
        assert_eq!(error.status, StatusCode::NOT_ACCEPTABLE);
    }
}
