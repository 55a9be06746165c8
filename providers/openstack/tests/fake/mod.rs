//! A fake OpenStack cloud over HTTP: Keystone v3 (password and application-credential
//! tokens in `X-Subject-Token`, a catalogue, version discovery), Nova (flavours, keypairs,
//! servers that BUILD then turn ACTIVE or ERROR), Neutron (networks, subnets, routers and their
//! interfaces, ports, security groups, floating IPs), Glance (images) and Blazar (leases),
//! answering with the documented shapes, errors included. Failures are injected by method and
//! path; every request is recorded (its body and token, to check what was sent).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

pub const USER: &str = "demo";
pub const PASSWORD: &str = "pw-Very-Secret-42";
pub const PROJECT: &str = "lab";
pub const PROJECT_ID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
pub const APP_CRED_ID: &str = "ac-7d2f";
pub const APP_CRED_SECRET: &str = "acs-Hidden-Secret-99";
pub const REGION: &str = "RegionOne";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Value,
    pub token: Option<String>,
}

impl Recorded {
    /// `METHOD path`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A failure to answer instead of the real thing.
#[derive(Debug, Clone)]
pub struct Failure {
    pub method: &'static str,
    pub path_prefix: String,
    /// Matching requests let through before failing.
    pub skip: u32,
    /// How many matching requests fail.
    pub times: u32,
    pub status: u16,
    pub body: String,
}

/// The cloud's state.
#[derive(Debug, Default)]
pub struct World {
    pub base: String,
    pub next_id: u64,
    pub tokens: Vec<String>,
    pub blazar: bool,
    pub images: Vec<Value>,
    pub flavors: Vec<Value>,
    pub keypairs: Vec<Value>,
    pub servers: Vec<Value>,
    pub networks: Vec<Value>,
    pub subnets: Vec<Value>,
    pub routers: Vec<Value>,
    pub ports: Vec<Value>,
    pub security_groups: Vec<Value>,
    pub security_group_rules: Vec<Value>,
    pub floatingips: Vec<Value>,
    pub leases: Vec<Value>,
    /// GETs a server answers BUILD to before it is ACTIVE.
    pub build_polls: u64,
    /// Names of servers that end in ERROR, with their fault.
    pub failing_servers: BTreeMap<String, String>,
    /// GETs a lease answers PENDING to before it is ACTIVE.
    pub lease_polls: u64,
    pub failures: Vec<Failure>,
    pub requests: Vec<Recorded>,
}

impl World {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{:04}", self.next_id)
    }

    /// The servers that exist (not deleted), by name.
    pub fn server_names(&self) -> Vec<String> {
        self.servers
            .iter()
            .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// What exists that a deploy makes, as `kind name` lines (sorted).
    pub fn inventory(&self) -> Vec<String> {
        let mut out = Vec::new();
        let name = |v: &Value| v["name"].as_str().unwrap_or_default().to_owned();
        for s in &self.servers {
            out.push(format!("server {}", name(s)));
        }
        for (kind, list) in [
            ("network", &self.networks),
            ("subnet", &self.subnets),
            ("router", &self.routers),
            ("security_group", &self.security_groups),
            ("keypair", &self.keypairs),
            ("lease", &self.leases),
        ] {
            for item in list {
                if item["preexisting"].as_bool() != Some(true) {
                    out.push(format!("{kind} {}", name(item)));
                }
            }
        }
        for f in &self.floatingips {
            if f["preexisting"].as_bool() != Some(true) {
                out.push(format!(
                    "floatingip {}",
                    f["floating_ip_address"].as_str().unwrap_or_default()
                ));
            }
        }
        for p in &self.ports {
            if p["device_owner"] == "network:router_interface" {
                out.push("router_interface".to_owned());
            }
        }
        out.sort();
        out
    }

    /// Requests of `METHOD path-prefix`.
    pub fn count(&self, method: &str, prefix: &str) -> usize {
        self.requests
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(prefix))
            .count()
    }

    pub fn fail(
        &mut self,
        method: &'static str,
        prefix: &str,
        skip: u32,
        times: u32,
        status: u16,
        body: &str,
    ) {
        self.failures.push(Failure {
            method,
            path_prefix: prefix.to_owned(),
            skip,
            times,
            status,
            body: body.to_owned(),
        });
    }
}

/// The running fake.
pub struct FakeCloud {
    pub base: String,
    pub world: Arc<Mutex<World>>,
}

impl FakeCloud {
    /// A cloud with the image `debian-12`, flavours `m1.small` and `m1.large`, the external
    /// network `public` and the shared network `shared-net`; Blazar when `blazar`.
    pub async fn start(blazar: bool) -> FakeCloud {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{address}");
        let mut world = World {
            base: base.clone(),
            blazar,
            build_polls: 2,
            lease_polls: 2,
            ..World::default()
        };
        world.images = vec![
            json!({"id": "img-debian-12", "name": "debian-12", "status": "active", "visibility": "public"}),
            json!({"id": "img-ubuntu-a", "name": "ubuntu", "status": "active"}),
            json!({"id": "img-ubuntu-b", "name": "ubuntu", "status": "active"}),
        ];
        world.flavors = vec![
            json!({"id": "fl-1", "name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20}),
            json!({"id": "fl-2", "name": "m1.large", "vcpus": 4, "ram": 8192, "disk": 80}),
            json!({"id": "fl-bm", "name": "baremetal", "vcpus": 48, "ram": 196608, "disk": 240}),
        ];
        world.networks = vec![
            json!({"id": "ext-net", "name": "public", "router:external": true, "project_id": "admin-project", "status": "ACTIVE", "preexisting": true}),
            json!({"id": "shared-net-id", "name": "shared-net", "router:external": false, "shared": true, "project_id": "admin-project", "status": "ACTIVE", "preexisting": true}),
        ];
        world.subnets = vec![
            json!({"id": "shared-subnet-id", "name": "shared-subnet", "network_id": "shared-net-id", "ip_version": 4, "cidr": "10.140.80.0/22", "gateway_ip": "10.140.80.1", "preexisting": true}),
        ];
        let world = Arc::new(Mutex::new(world));
        let shared = world.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let world = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let world = world.clone();
                        async move { Ok::<_, Infallible>(handle(&world, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeCloud { base, world }
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }

    /// Keystone's URL, as an openrc file gives it.
    pub fn auth_url(&self) -> String {
        format!("{}/identity/v3", self.base)
    }

    /// An openrc environment with the password.
    pub fn openrc(&self) -> BTreeMap<String, String> {
        [
            ("OS_AUTH_URL", self.auth_url()),
            ("OS_USERNAME", USER.to_owned()),
            ("OS_PASSWORD", PASSWORD.to_owned()),
            ("OS_PROJECT_NAME", PROJECT.to_owned()),
            ("OS_USER_DOMAIN_NAME", "Default".to_owned()),
            ("OS_PROJECT_DOMAIN_NAME", "Default".to_owned()),
            ("OS_REGION_NAME", REGION.to_owned()),
            ("OS_INTERFACE", "public".to_owned()),
            ("OS_IDENTITY_API_VERSION", "3".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// An openrc environment with an application credential.
    pub fn app_credential_env(&self) -> BTreeMap<String, String> {
        [
            ("OS_AUTH_TYPE", "v3applicationcredential".to_owned()),
            ("OS_AUTH_URL", self.auth_url()),
            ("OS_APPLICATION_CREDENTIAL_ID", APP_CRED_ID.to_owned()),
            (
                "OS_APPLICATION_CREDENTIAL_SECRET",
                APP_CRED_SECRET.to_owned(),
            ),
            ("OS_REGION_NAME", REGION.to_owned()),
            ("OS_INTERFACE", "public".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    })));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    if !body.is_null() {
        response
            .headers_mut()
            .insert("Content-Type", "application/json".parse().unwrap());
    }
    response
}

fn nova_error(status: u16, kind: &str, message: &str) -> Response<Full<Bytes>> {
    reply(status, json!({kind: {"message": message, "code": status}}))
}

fn neutron_error(status: u16, kind: &str, message: &str) -> Response<Full<Bytes>> {
    reply(
        status,
        json!({"NeutronError": {"type": kind, "message": message, "detail": ""}}),
    )
}

fn keystone_unauthorized() -> Response<Full<Bytes>> {
    reply(
        401,
        json!({"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}),
    )
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The items of `list` whose fields match the query's filters (`name=^x$` is a regex on
/// servers: anchors only).
fn filtered(list: &[Value], query: &[(String, String)]) -> Vec<Value> {
    list.iter()
        .filter(|item| {
            query.iter().all(|(k, v)| {
                if matches!(
                    k.as_str(),
                    "limit" | "marker" | "sort_key" | "sort_dir" | "fields"
                ) {
                    return true;
                }
                let wanted = v.trim_start_matches('^').trim_end_matches('$');
                match &item[k.as_str()] {
                    Value::String(s) => s == wanted,
                    Value::Bool(b) => b.to_string() == wanted.to_lowercase(),
                    Value::Null => false,
                    other => *other.to_string() == *wanted,
                }
            })
        })
        .map(|item| {
            let mut item = item.clone();
            if let Some(map) = item.as_object_mut() {
                map.remove("preexisting");
                map.remove("polls");
            }
            item
        })
        .collect()
}

fn public(item: &Value) -> Value {
    let mut item = item.clone();
    if let Some(map) = item.as_object_mut() {
        map.remove("preexisting");
        map.remove("polls");
        map.remove("deleting");
    }
    item
}

async fn handle(world: &Arc<Mutex<World>>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().trim_end_matches('/').to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let token = request
        .headers()
        .get("X-Auth-Token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    let mut w = world.lock().unwrap();
    w.requests.push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        body: body.clone(),
        token: token.clone(),
    });
    for failure in w.failures.iter_mut() {
        if failure.method == method && path.starts_with(&failure.path_prefix) {
            if failure.skip > 0 {
                failure.skip -= 1;
                break;
            }
            if failure.times > 0 {
                failure.times -= 1;
                let parsed: Value = serde_json::from_str(&failure.body).unwrap_or(Value::Null);
                let mut response = if parsed.is_null() {
                    Response::new(Full::new(Bytes::from(failure.body.clone())))
                } else {
                    reply(failure.status, parsed)
                };
                *response.status_mut() = StatusCode::from_u16(failure.status).unwrap();
                return response;
            }
        }
    }
    let query = query_pairs(&query);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["identity"] | [] => {
            return reply(
                300,
                json!({"versions": {"values": [identity_version(&w.base)]}}),
            );
        }
        ["identity", "v3"] => return reply(200, json!({"version": identity_version(&w.base)})),
        ["identity", "v3", "auth", "tokens"] if method == "POST" => {
            return authenticate(&mut w, &body);
        }
        _ => {}
    }
    if !token.as_ref().is_some_and(|t| w.tokens.contains(t)) {
        return keystone_unauthorized();
    }
    match segments.as_slice() {
        ["compute"] => reply(200, json!({"versions": [compute_version(&w.base)]})),
        ["compute", "v2.1"] => reply(200, json!({"version": compute_version(&w.base)})),
        ["compute", "v2.1", rest @ ..] => compute(&mut w, &method, rest, &query, &body),
        ["network"] => reply(
            200,
            json!({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": format!("{}/network/v2.0/", w.base)}]}]}),
        ),
        ["network", "v2.0", rest @ ..] => network(&mut w, &method, rest, &query, &body),
        ["image", "v2", rest @ ..] => image(&w, &method, rest, &query),
        ["reservation", "v1", rest @ ..] if w.blazar => reservation(&mut w, &method, rest, &body),
        _ => reply(404, json!({"message": format!("no route {method} {path}")})),
    }
}

fn identity_version(base: &str) -> Value {
    json!({
        "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{base}/identity/v3/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

fn compute_version(base: &str) -> Value {
    json!({
        "id": "v2.1", "status": "CURRENT", "version": "2.79", "min_version": "2.1",
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{base}/compute/v2.1/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
    })
}

fn authenticate(w: &mut World, body: &Value) -> Response<Full<Bytes>> {
    let identity = &body["auth"]["identity"];
    let methods = identity["methods"].as_array().cloned().unwrap_or_default();
    let ok = if methods.contains(&json!("password")) {
        let user = &identity["password"]["user"];
        let project = &body["auth"]["scope"]["project"];
        user["name"] == USER
            && user["password"] == PASSWORD
            && (user["domain"]["name"] == "Default" || user["domain"]["id"] == "default")
            && (project["name"] == PROJECT || project["id"] == PROJECT_ID)
    } else if methods.contains(&json!("application_credential")) {
        let credential = &identity["application_credential"];
        credential["id"] == APP_CRED_ID && credential["secret"] == APP_CRED_SECRET
    } else {
        false
    };
    if !ok {
        return keystone_unauthorized();
    }
    let token = w.id("gAAAAAB-token");
    w.tokens.push(token.clone());
    let base = w.base.clone();
    let endpoint = |url: String| {
        json!([
            {"id": "e1", "interface": "public", "region": REGION, "region_id": REGION, "url": url},
            {"id": "e2", "interface": "internal", "region": REGION, "region_id": REGION, "url": "http://192.0.2.1:1/internal-only"},
        ])
    };
    let mut catalog = vec![
        json!({"type": "identity", "name": "keystone", "endpoints": endpoint(format!("{base}/identity"))}),
        json!({"type": "compute", "name": "nova", "endpoints": endpoint(format!("{base}/compute/v2.1"))}),
        json!({"type": "network", "name": "neutron", "endpoints": endpoint(format!("{base}/network"))}),
        json!({"type": "image", "name": "glance", "endpoints": endpoint(format!("{base}/image"))}),
    ];
    if w.blazar {
        catalog.push(json!({"type": "reservation", "name": "blazar", "endpoints": endpoint(format!("{base}/reservation/v1"))}));
    }
    let body = json!({"token": {
        "methods": methods,
        "expires_at": "2099-01-01T00:00:00.000000Z",
        "issued_at": "2026-01-01T00:00:00.000000Z",
        "user": {"id": "u-1", "name": USER, "domain": {"id": "default", "name": "Default"}},
        "project": {"id": PROJECT_ID, "name": PROJECT, "domain": {"id": "default", "name": "Default"}},
        "roles": [{"id": "r-1", "name": "member"}],
        "catalog": catalog,
    }});
    let mut response = reply(201, body);
    response
        .headers_mut()
        .insert("X-Subject-Token", token.parse().unwrap());
    response
}

fn compute(
    w: &mut World,
    method: &str,
    rest: &[&str],
    query: &[(String, String)],
    body: &Value,
) -> Response<Full<Bytes>> {
    match (method, rest) {
        ("GET", ["flavors"]) | ("GET", ["flavors", "detail"]) => {
            reply(200, json!({"flavors": w.flavors}))
        }
        ("GET", ["flavors", id]) => match w.flavors.iter().find(|f| f["id"] == *id) {
            Some(f) => reply(200, json!({"flavor": f})),
            None => nova_error(
                404,
                "itemNotFound",
                &format!("Flavor {id} could not be found."),
            ),
        },
        ("GET", ["os-keypairs"]) => {
            let list: Vec<Value> = w
                .keypairs
                .iter()
                .map(|k| json!({"keypair": public(k)}))
                .collect();
            reply(200, json!({"keypairs": list}))
        }
        ("GET", ["os-keypairs", name]) => match w.keypairs.iter().find(|k| k["name"] == *name) {
            Some(k) => reply(200, json!({"keypair": public(k)})),
            None => nova_error(
                404,
                "itemNotFound",
                &format!("Keypair {name} not found for user u-1"),
            ),
        },
        ("POST", ["os-keypairs"]) => {
            let keypair = &body["keypair"];
            let name = keypair["name"].as_str().unwrap_or_default().to_owned();
            if w.keypairs.iter().any(|k| k["name"] == name.as_str()) {
                return nova_error(
                    409,
                    "conflictingRequest",
                    &format!("Key pair '{name}' already exists."),
                );
            }
            let public_key = keypair["public_key"].as_str().unwrap_or_default();
            if !public_key.starts_with("ecdsa-sha2-nistp256 ") && !public_key.starts_with("ssh-") {
                return nova_error(
                    400,
                    "badRequest",
                    "Keypair data is invalid: failed to generate fingerprint",
                );
            }
            let made = json!({"name": name, "public_key": public_key, "fingerprint": "aa:bb", "user_id": "u-1", "type": "ssh"});
            w.keypairs.push(made.clone());
            reply(200, json!({"keypair": made}))
        }
        ("DELETE", ["os-keypairs", name]) => {
            let before = w.keypairs.len();
            w.keypairs.retain(|k| k["name"] != *name);
            if w.keypairs.len() == before {
                nova_error(
                    404,
                    "itemNotFound",
                    &format!("Keypair {name} not found for user u-1"),
                )
            } else {
                reply(202, Value::Null)
            }
        }
        ("POST", ["servers"]) => create_server(w, body),
        ("GET", ["servers"]) | ("GET", ["servers", "detail"]) => {
            let mut servers = Vec::new();
            for index in 0..w.servers.len() {
                let view = server_view(w, index, false);
                servers.push(view);
            }
            let servers = filtered(&servers, query);
            reply(200, json!({"servers": servers}))
        }
        ("GET", ["servers", id]) => match w.servers.iter().position(|s| s["id"] == *id) {
            Some(index) => {
                if w.servers[index]["deleting"].as_bool() == Some(true) {
                    w.servers.remove(index);
                    // Its port goes with it, and so does a floating IP's association.
                    let id = (*id).to_owned();
                    let ports: Vec<String> = w
                        .ports
                        .iter()
                        .filter(|p| p["device_id"] == id.as_str())
                        .map(|p| p["id"].as_str().unwrap_or_default().to_owned())
                        .collect();
                    w.ports.retain(|p| p["device_id"] != id.as_str());
                    for fip in w.floatingips.iter_mut() {
                        if fip["port_id"]
                            .as_str()
                            .is_some_and(|p| ports.iter().any(|q| q == p))
                        {
                            fip["port_id"] = Value::Null;
                            fip["fixed_ip_address"] = Value::Null;
                            fip["status"] = json!("DOWN");
                        }
                    }
                    return nova_error(404, "itemNotFound", "Instance could not be found.");
                }
                let view = server_view(w, index, true);
                reply(200, json!({"server": view}))
            }
            None => nova_error(
                404,
                "itemNotFound",
                &format!("Instance {id} could not be found."),
            ),
        },
        ("DELETE", ["servers", id]) => match w.servers.iter_mut().find(|s| s["id"] == *id) {
            Some(server) => {
                server["deleting"] = json!(true);
                reply(204, Value::Null)
            }
            None => nova_error(
                404,
                "itemNotFound",
                &format!("Instance {id} could not be found."),
            ),
        },
        _ => nova_error(
            404,
            "itemNotFound",
            &format!("no compute route {method} {}", rest.join("/")),
        ),
    }
}

fn create_server(w: &mut World, body: &Value) -> Response<Full<Bytes>> {
    let server = &body["server"];
    let name = server["name"].as_str().unwrap_or_default().to_owned();
    let image = server["imageRef"].as_str().unwrap_or_default();
    if !w.images.iter().any(|i| i["id"] == image) {
        return nova_error(
            400,
            "badRequest",
            &format!("Image {image} could not be found."),
        );
    }
    let flavor = server["flavorRef"].as_str().unwrap_or_default();
    if !w.flavors.iter().any(|f| f["id"] == flavor) {
        return nova_error(400, "badRequest", "Invalid flavorRef provided.");
    }
    let Some(network) = server["networks"][0]["uuid"].as_str().map(str::to_owned) else {
        return nova_error(
            400,
            "badRequest",
            "Invalid input for field/attribute networks.",
        );
    };
    let Some(net) = w
        .networks
        .iter()
        .find(|n| n["id"] == network.as_str())
        .cloned()
    else {
        return nova_error(
            400,
            "badRequest",
            &format!("Network {network} could not be found."),
        );
    };
    let key_name = server["key_name"].as_str().unwrap_or_default().to_owned();
    if !key_name.is_empty() && !w.keypairs.iter().any(|k| k["name"] == key_name.as_str()) {
        return nova_error(400, "badRequest", "Invalid key_name provided.");
    }
    for group in server["security_groups"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let g = group["name"].as_str().unwrap_or_default();
        if g != "default"
            && !w
                .security_groups
                .iter()
                .any(|s| s["id"] == g || s["name"] == g)
        {
            return nova_error(
                400,
                "badRequest",
                &format!("Security group {g} not found for project {PROJECT_ID}."),
            );
        }
    }
    let Some(subnet) = w
        .subnets
        .iter()
        .find(|s| s["network_id"] == network.as_str())
        .cloned()
    else {
        return nova_error(
            400,
            "badRequest",
            &format!("Network {network} requires a subnet in order to boot instances on."),
        );
    };
    let id = w.id("srv");
    let count = w
        .ports
        .iter()
        .filter(|p| p["network_id"] == network.as_str())
        .count() as u32;
    let cidr = subnet["cidr"].as_str().unwrap_or_default();
    let base: std::net::Ipv4Addr = cidr.split('/').next().unwrap_or_default().parse().unwrap();
    let address = std::net::Ipv4Addr::from(u32::from(base) + 10 + count);
    let port_id = w.id("port");
    w.ports.push(json!({"id": port_id, "device_id": id, "device_owner": "compute:nova", "network_id": network, "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": address.to_string()}]}));
    w.servers.push(json!({
        "id": id, "name": name, "polls": 0,
        "network_name": net["name"], "address": address.to_string(),
        "metadata": server["metadata"], "key_name": key_name,
        "security_groups": server["security_groups"], "user_data": server["user_data"],
        "scheduler_hints": body["os:scheduler_hints"],
        "flavor": {"id": flavor}, "image": {"id": image},
        "OS-EXT-AZ:availability_zone": server["availability_zone"].as_str().unwrap_or("nova"),
    }));
    reply(
        202,
        json!({"server": {
            "id": id,
            "links": [{"rel": "self", "href": format!("{}/compute/v2.1/servers/{id}", w.base)}],
            "adminPass": "fake-admin-pass",
            "OS-DCF:diskConfig": "MANUAL",
            "security_groups": server["security_groups"],
        }}),
    )
}

/// A server as Nova shows it; a GET of one (`poll`) moves it along BUILD → ACTIVE or ERROR.
fn server_view(w: &mut World, index: usize, poll: bool) -> Value {
    let build_polls = w.build_polls;
    let failing = w.failing_servers.clone();
    let server = &mut w.servers[index];
    if poll {
        let polls = server["polls"].as_u64().unwrap_or(0) + 1;
        server["polls"] = json!(polls);
    }
    let name = server["name"].as_str().unwrap_or_default().to_owned();
    let polls = server["polls"].as_u64().unwrap_or(0);
    if polls > build_polls
        && server["fault"].is_null()
        && let Some(fault) = failing.get(&name)
    {
        // ERROR stays.
        server["fault"] = json!(fault);
    }
    let (status, fault) = if polls <= build_polls {
        ("BUILD", None)
    } else if let Some(fault) = server["fault"].as_str() {
        ("ERROR", Some(fault.to_owned()))
    } else {
        ("ACTIVE", None)
    };
    let mut view = json!({
        "id": server["id"], "name": name, "status": status,
        "progress": if status == "BUILD" { 50 } else { 100 },
        "metadata": server["metadata"], "key_name": server["key_name"],
        "flavor": server["flavor"], "image": server["image"],
        "tenant_id": PROJECT_ID, "user_id": "u-1",
        "OS-EXT-AZ:availability_zone": server["OS-EXT-AZ:availability_zone"],
        "addresses": {},
        "links": [],
    });
    if status == "ACTIVE" {
        let network = server["network_name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        view["addresses"] = json!({network: [{"addr": server["address"], "version": 4, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"}]});
    }
    if let Some(fault) = fault {
        view["fault"] = json!({"code": 500, "message": fault, "created": "2026-01-01T00:00:00Z"});
    }
    view
}

fn network(
    w: &mut World,
    method: &str,
    rest: &[&str],
    query: &[(String, String)],
    body: &Value,
) -> Response<Full<Bytes>> {
    let collections = [
        "networks",
        "subnets",
        "routers",
        "ports",
        "security-groups",
        "security-group-rules",
        "floatingips",
    ];
    match (method, rest) {
        ("PUT", ["routers", id, action]) => return router_interface(w, id, action, body),
        (_, [collection, ..]) if !collections.contains(collection) => {
            return neutron_error(
                404,
                "HTTPNotFound",
                &format!("The resource could not be found: {collection}"),
            );
        }
        _ => {}
    }
    let collection = rest[0];
    let singular = match collection {
        "networks" => "network",
        "subnets" => "subnet",
        "routers" => "router",
        "ports" => "port",
        "security-groups" => "security_group",
        "security-group-rules" => "security_group_rule",
        _ => "floatingip",
    };
    let list_key = collection.replace('-', "_");
    let not_found = |id: &str| {
        let kind = format!("{}{}NotFound", singular[..1].to_uppercase(), &singular[1..]);
        neutron_error(
            404,
            &kind,
            &format!("{} {id} could not be found.", singular.replace('_', " ")),
        )
    };
    match (method, rest) {
        ("GET", [_]) => {
            let items = list_of(w, collection).clone();
            reply(200, json!({list_key: filtered(&items, query)}))
        }
        ("GET", [_, id]) => match list_of(w, collection).iter().find(|i| i["id"] == *id) {
            Some(item) => reply(200, json!({singular: public(item)})),
            None => not_found(id),
        },
        ("POST", [_]) => {
            let mut item = body[singular].clone();
            if !item.is_object() {
                return neutron_error(
                    400,
                    "BadRequest",
                    &format!("Bad {collection} request: no {singular}"),
                );
            }
            let id = w.id(singular);
            item["id"] = json!(id);
            if item.get("project_id").is_none() {
                item["project_id"] = json!(PROJECT_ID);
            }
            match singular {
                "network" => {
                    item["router:external"] = json!(false);
                    item["status"] = json!("ACTIVE");
                }
                "subnet" => {
                    let cidr = item["cidr"].as_str().unwrap_or_default().to_owned();
                    let base: std::net::Ipv4Addr = cidr
                        .split('/')
                        .next()
                        .unwrap_or_default()
                        .parse()
                        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
                    item["gateway_ip"] =
                        json!(std::net::Ipv4Addr::from(u32::from(base) + 1).to_string());
                    if !w.networks.iter().any(|n| n["id"] == item["network_id"]) {
                        return neutron_error(
                            404,
                            "NetworkNotFound",
                            "Network could not be found.",
                        );
                    }
                }
                "router" => {
                    let gateway = &item["external_gateway_info"]["network_id"];
                    if !gateway.is_null()
                        && !w
                            .networks
                            .iter()
                            .any(|n| &n["id"] == gateway && n["router:external"] == true)
                    {
                        return neutron_error(
                            400,
                            "BadRequest",
                            "Bad router request: network is not external.",
                        );
                    }
                }
                "security_group_rule" => {
                    let same = w.security_group_rules.iter().any(|r| {
                        [
                            "security_group_id",
                            "direction",
                            "protocol",
                            "port_range_min",
                            "remote_ip_prefix",
                            "remote_group_id",
                        ]
                        .iter()
                        .all(|k| r[*k] == item[*k])
                    });
                    if same {
                        return neutron_error(
                            409,
                            "SecurityGroupRuleExists",
                            "Security group rule already exists.",
                        );
                    }
                }
                "floatingip" => {
                    let external = item["floating_network_id"].clone();
                    if !w
                        .networks
                        .iter()
                        .any(|n| n["id"] == external && n["router:external"] == true)
                    {
                        return neutron_error(
                            400,
                            "BadRequest",
                            &format!(
                                "Bad floatingip request: Network {external} is not a valid external network."
                            ),
                        );
                    }
                    let n = w.floatingips.len() + 10;
                    item["floating_ip_address"] = json!(format!("203.0.113.{n}"));
                    item["status"] = json!(if item["port_id"].is_null() {
                        "DOWN"
                    } else {
                        "ACTIVE"
                    });
                    if item.get("port_id").is_none() {
                        item["port_id"] = Value::Null;
                    }
                }
                _ => {}
            }
            list_of(w, collection).push(item.clone());
            reply(201, json!({singular: item}))
        }
        ("PUT", [_, id]) => {
            let update = body[singular].clone();
            match list_of(w, collection).iter_mut().find(|i| i["id"] == *id) {
                Some(item) => {
                    if let (Some(map), Some(changes)) = (item.as_object_mut(), update.as_object()) {
                        for (k, v) in changes {
                            map.insert(k.clone(), v.clone());
                        }
                    }
                    if singular == "floatingip" {
                        item["status"] = json!(if item["port_id"].is_null() {
                            "DOWN"
                        } else {
                            "ACTIVE"
                        });
                    }
                    reply(200, json!({singular: public(item)}))
                }
                None => not_found(id),
            }
        }
        ("DELETE", [_, id]) => {
            let id = (*id).to_owned();
            if !list_of(w, collection)
                .iter()
                .any(|i| i["id"] == id.as_str())
            {
                return not_found(&id);
            }
            // What is in use cannot go.
            let in_use = match singular {
                "network" => w.ports.iter().any(|p| p["network_id"] == id.as_str()),
                "subnet" => w
                    .ports
                    .iter()
                    .any(|p| p["fixed_ips"][0]["subnet_id"] == id.as_str()),
                "router" => w.ports.iter().any(|p| p["device_id"] == id.as_str()),
                "security_group" => w.servers.iter().any(|s| {
                    s["security_groups"]
                        .as_array()
                        .is_some_and(|groups| groups.iter().any(|g| g["name"] == id.as_str()))
                }),
                _ => false,
            };
            if in_use {
                return neutron_error(
                    409,
                    &format!("{}InUse", singular),
                    &format!("Unable to complete operation on {singular} {id}: it is in use."),
                );
            }
            list_of(w, collection).retain(|i| i["id"] != id.as_str());
            if singular == "network" {
                w.subnets.retain(|s| s["network_id"] != id.as_str());
            }
            if singular == "security_group" {
                w.security_group_rules
                    .retain(|r| r["security_group_id"] != id.as_str());
            }
            reply(204, Value::Null)
        }
        _ => neutron_error(405, "HTTPMethodNotAllowed", "method not allowed"),
    }
}

fn router_interface(
    w: &mut World,
    router: &str,
    action: &str,
    body: &Value,
) -> Response<Full<Bytes>> {
    if !w.routers.iter().any(|r| r["id"] == router) {
        return neutron_error(
            404,
            "RouterNotFound",
            &format!("Router {router} could not be found"),
        );
    }
    let subnet_id = body["subnet_id"].as_str().unwrap_or_default().to_owned();
    let Some(subnet) = w
        .subnets
        .iter()
        .find(|s| s["id"] == subnet_id.as_str())
        .cloned()
    else {
        return neutron_error(
            404,
            "SubnetNotFound",
            &format!("Subnet {subnet_id} could not be found."),
        );
    };
    match action {
        "add_router_interface" => {
            if w.ports.iter().any(|p| {
                p["device_id"] == router && p["fixed_ips"][0]["subnet_id"] == subnet_id.as_str()
            }) {
                return neutron_error(
                    400,
                    "BadRequest",
                    &format!("Router already has a port on subnet {subnet_id}."),
                );
            }
            let port = w.id("port");
            w.ports.push(json!({"id": port, "device_id": router, "device_owner": "network:router_interface", "network_id": subnet["network_id"], "fixed_ips": [{"subnet_id": subnet_id, "ip_address": subnet["gateway_ip"]}]}));
            reply(
                200,
                json!({"id": router, "subnet_id": subnet_id, "port_id": port, "network_id": subnet["network_id"], "project_id": PROJECT_ID}),
            )
        }
        "remove_router_interface" => {
            let before = w.ports.len();
            w.ports.retain(|p| {
                !(p["device_id"] == router && p["fixed_ips"][0]["subnet_id"] == subnet_id.as_str())
            });
            if before == w.ports.len() {
                return neutron_error(
                    404,
                    "RouterInterfaceNotFoundForSubnet",
                    &format!("Router {router} has no interface on subnet {subnet_id}"),
                );
            }
            reply(200, json!({"id": router, "subnet_id": subnet_id}))
        }
        _ => neutron_error(404, "HTTPNotFound", "no such action"),
    }
}

fn list_of<'a>(w: &'a mut World, collection: &str) -> &'a mut Vec<Value> {
    match collection {
        "networks" => &mut w.networks,
        "subnets" => &mut w.subnets,
        "routers" => &mut w.routers,
        "ports" => &mut w.ports,
        "security-groups" => &mut w.security_groups,
        "security-group-rules" => &mut w.security_group_rules,
        _ => &mut w.floatingips,
    }
}

fn image(
    w: &World,
    method: &str,
    rest: &[&str],
    query: &[(String, String)],
) -> Response<Full<Bytes>> {
    match (method, rest) {
        ("GET", ["images"]) => reply(
            200,
            json!({"images": filtered(&w.images, query), "first": "/v2/images", "schema": "/v2/schemas/images"}),
        ),
        ("GET", ["images", id]) => match w.images.iter().find(|i| i["id"] == *id) {
            Some(image) => reply(200, image.clone()),
            None => reply(
                404,
                json!({"message": format!("No image found with ID {id}"), "code": "404 Not Found", "title": "Not Found"}),
            ),
        },
        _ => reply(404, json!({"message": "no such image route"})),
    }
}

fn blazar_error(status: u16, name: &str, message: &str) -> Response<Full<Bytes>> {
    reply(
        status,
        json!({"error_code": status, "error_message": message, "error_name": name}),
    )
}

fn reservation(w: &mut World, method: &str, rest: &[&str], body: &Value) -> Response<Full<Bytes>> {
    let lease_polls = w.lease_polls;
    match (method, rest) {
        ("GET", ["leases"]) => {
            let leases: Vec<Value> = w.leases.iter().map(public).collect();
            reply(200, json!({"leases": leases}))
        }
        ("POST", ["leases"]) => {
            let Some(reservations) = body["reservations"].as_array().cloned() else {
                return blazar_error(400, "MissingParameter", "Missing parameter reservations");
            };
            if body["start_date"].as_str().is_none() || body["end_date"].as_str().is_none() {
                return blazar_error(
                    400,
                    "MissingParameter",
                    "Missing parameter start_date or end_date",
                );
            }
            let id = w.id("lease");
            let mut made = Vec::new();
            for r in reservations {
                let mut r = r.clone();
                r["id"] = json!(w.id("rsv"));
                r["lease_id"] = json!(id);
                r["status"] = json!("pending");
                made.push(r);
            }
            let lease = json!({
                "id": id, "name": body["name"], "status": "PENDING", "degraded": false,
                "start_date": "2026-01-01T00:00:00.000000", "end_date": "2026-01-01T04:00:00.000000",
                "asked_start": body["start_date"], "asked_end": body["end_date"],
                "project_id": PROJECT_ID, "reservations": made, "events": [], "polls": 0,
            });
            w.leases.push(lease.clone());
            reply(201, json!({"lease": public(&lease)}))
        }
        ("GET", ["leases", id]) => match w.leases.iter_mut().find(|l| l["id"] == *id) {
            Some(lease) => {
                let polls = lease["polls"].as_u64().unwrap_or(0) + 1;
                lease["polls"] = json!(polls);
                if polls > lease_polls && lease["status"] == "PENDING" {
                    lease["status"] = json!("ACTIVE");
                    for r in lease["reservations"].as_array_mut().into_iter().flatten() {
                        r["status"] = json!("active");
                    }
                }
                reply(200, json!({"lease": public(lease)}))
            }
            None => blazar_error(
                404,
                "NotFound",
                &format!("Object with {{'id': '{id}'}} not found"),
            ),
        },
        ("PUT", ["leases", id]) => match w.leases.iter_mut().find(|l| l["id"] == *id) {
            Some(lease) => {
                if let Some(end) = body["end_date"].as_str() {
                    lease["end_date"] = json!(format!("{}:00.000000", end.replace(' ', "T")));
                }
                reply(200, json!({"lease": public(lease)}))
            }
            None => blazar_error(
                404,
                "NotFound",
                &format!("Object with {{'id': '{id}'}} not found"),
            ),
        },
        ("DELETE", ["leases", id]) => {
            let before = w.leases.len();
            w.leases.retain(|l| l["id"] != *id);
            if before == w.leases.len() {
                blazar_error(
                    404,
                    "NotFound",
                    &format!("Object with {{'id': '{id}'}} not found"),
                )
            } else {
                reply(204, Value::Null)
            }
        }
        _ => blazar_error(404, "NotFound", "no such reservation route"),
    }
}
