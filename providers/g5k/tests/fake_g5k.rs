//! A fake Grid'5000 API: hyper on 127.0.0.1:0, holding jobs, deployments and a reference API
//! of a few clusters, answering as the documented API does (201 with the job, 202 on delete,
//! collections with `items`), with failures on demand. Every request is recorded.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// The login the fake accepts.
pub const USER: &str = "jdoe";

/// A request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The path, `/stable/...`.
    pub path: String,
    pub params: BTreeMap<String, String>,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: Option<Value>,
}

impl Recorded {
    pub fn is(&self, method: &str, path_end: &str) -> bool {
        self.method == method && self.path.ends_with(path_end)
    }
}

/// A failure served instead of the normal answer.
#[derive(Clone, Debug)]
pub struct Fault {
    pub method: &'static str,
    /// Served when the path contains this.
    pub path_contains: String,
    pub status: u16,
    pub body: String,
    /// How many times; after that, the normal answer.
    pub times: u32,
    /// Whether the request is handled anyway before the failure is served (a server that
    /// created the job, then failed to answer).
    pub after_handling: bool,
}

#[derive(Clone, Debug)]
pub struct FakeJob {
    pub uid: u64,
    pub site: String,
    pub name: String,
    pub user: String,
    pub state: String,
    /// The states the job takes, one per GET.
    pub script: VecDeque<String>,
    pub body: Value,
    pub vlan: bool,
    pub nodes: Vec<String>,
    pub walltime: u64,
    pub scheduled_at: i64,
    pub walltime_requests: Vec<Value>,
}

#[derive(Clone, Debug)]
pub struct FakeDeployment {
    pub site: String,
    pub body: Value,
    pub gets: u32,
}

/// What the fake holds, and how it behaves.
pub struct World {
    /// The password basic auth must carry; `None`: no auth needed (inside Grid'5000).
    pub password: Option<String>,
    /// Cluster → (site, number of nodes).
    pub clusters: BTreeMap<String, (String, u32)>,
    pub jobs: BTreeMap<u64, FakeJob>,
    pub next_uid: u64,
    /// The states a new job goes through, one per GET (it is `waiting` when created).
    pub job_script: Vec<String>,
    /// OAR's predicted start of new jobs while they wait (0: unknown).
    pub scheduled_at: i64,
    pub deployments: BTreeMap<String, FakeDeployment>,
    /// GETs of a deployment before it terminates.
    pub deployment_gets: u32,
    /// Node FQDN → how many more deployments fail on it.
    pub ko: BTreeMap<String, u32>,
    /// Nodes OAR withholds (never assigned).
    pub withheld: Vec<String>,
    pub faults: Vec<Fault>,
}

impl Default for World {
    fn default() -> Self {
        World {
            password: None,
            clusters: BTreeMap::from([
                ("paravance".into(), ("rennes".into(), 8)),
                ("gros".into(), ("nancy".into(), 8)),
                ("newcluster".into(), ("lille".into(), 4)),
            ]),
            jobs: BTreeMap::new(),
            next_uid: 1_361_479,
            job_script: vec!["launching".into(), "running".into()],
            scheduled_at: 0,
            deployments: BTreeMap::new(),
            deployment_gets: 1,
            ko: BTreeMap::new(),
            withheld: Vec::new(),
            faults: Vec::new(),
        }
    }
}

pub struct FakeG5k {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    world: Arc<Mutex<World>>,
    task: JoinHandle<()>,
}

impl FakeG5k {
    /// A fake that wants `jdoe` and `password` in basic auth.
    pub async fn start(password: &str) -> Self {
        Self::with(World {
            password: Some(password.to_owned()),
            ..World::default()
        })
        .await
    }

    pub async fn with(world: World) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let addr = listener.local_addr().expect("bound address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let world = Arc::new(Mutex::new(world));
        let (recorded, shared) = (requests.clone(), world.clone());
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let (recorded, shared) = (recorded.clone(), shared.clone());
                connections.spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let (recorded, shared) = (recorded.clone(), shared.clone());
                        async move { Ok::<_, Infallible>(answer(request, &recorded, &shared).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeG5k {
            addr,
            requests,
            world,
            task,
        }
    }

    /// The API's base URL, like `https://api.grid5000.fr/stable`.
    pub fn base_url(&self) -> String {
        format!("http://{}/stable", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests").clone()
    }

    /// How many requests `method` ending in `path_end` were made.
    pub fn count(&self, method: &str, path_end: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.is(method, path_end))
            .count()
    }

    pub fn world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.world.lock().expect("world"))
    }

    pub fn fault(&self, fault: Fault) {
        self.world(|w| w.faults.push(fault));
    }
}

impl Drop for FakeG5k {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A fault served `times` times for `method` on paths containing `path_contains`.
pub fn fault(
    method: &'static str,
    path_contains: &str,
    status: u16,
    body: &str,
    times: u32,
) -> Fault {
    Fault {
        method,
        path_contains: path_contains.to_owned(),
        status,
        body: body.to_owned(),
        times,
        after_handling: false,
    }
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::from_u16(status).expect("status");
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        "application/json; charset=utf-8".parse().expect("header"),
    );
    response
}

fn text(status: u16, body: &str, content_type: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = StatusCode::from_u16(status).expect("status");
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        content_type.parse().expect("header"),
    );
    response
}

async fn answer(
    request: Request<Incoming>,
    recorded: &Mutex<Vec<Recorded>>,
    world: &Mutex<World>,
) -> Response<Full<Bytes>> {
    let method = request.method().to_string();
    let uri = request.uri().clone();
    let header = |name: hyper::header::HeaderName| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header(hyper::header::AUTHORIZATION);
    let content_type = header(hyper::header::CONTENT_TYPE);
    let bytes = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Option<Value> = if bytes.is_empty() {
        None
    } else {
        Some(
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned())),
        )
    };
    let params: BTreeMap<String, String> = uri
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (decode(k), decode(v)))
                .collect()
        })
        .unwrap_or_default();
    let entry = Recorded {
        method: method.clone(),
        path: uri.path().to_owned(),
        params,
        authorization,
        content_type,
        body,
    };
    recorded.lock().expect("requests").push(entry.clone());
    let mut world = world.lock().expect("world");
    if let Some(password) = &world.password {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{password}"))
        );
        if entry.authorization.as_deref() != Some(expected.as_str()) {
            return text(
                401,
                "<html><head><title>401 Unauthorized</title></head><body>Unauthorized</body></html>",
                "text/html",
            );
        }
    }
    let fault = world
        .faults
        .iter_mut()
        .find(|f| f.times > 0 && f.method == method && entry.path.contains(&f.path_contains));
    if let Some(fault) = fault {
        fault.times -= 1;
        let (status, body, after) = (fault.status, fault.body.clone(), fault.after_handling);
        if after {
            let _ = route(&mut world, &entry);
        }
        return text(status, &body, "text/plain");
    }
    route(&mut world, &entry)
}

fn decode(text: &str) -> String {
    let text = text.replace('+', " ");
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn not_found(what: &str) -> Response<Full<Bytes>> {
    text(404, &format!("{what} cannot be found."), "text/plain")
}

fn job_json(job: &FakeJob, base: &str) -> Value {
    let running = job.state == "running";
    json!({
        "uid": job.uid,
        "user_uid": job.user,
        "user": job.user,
        "name": job.name,
        "queue": job.body["queue"],
        "state": job.state,
        "types": job.body["types"],
        "mode": "PASSIVE",
        "command": job.body["command"],
        "walltime": job.walltime,
        "submitted_at": 1_605_712_132,
        "scheduled_at": job.scheduled_at,
        "started_at": if running { 1_605_713_939 } else { 0 },
        "message": "FIFO scheduling OK",
        "properties": "(deploy = 'YES') AND maintenance = 'NO'",
        "directory": format!("/home/{}", job.user),
        "events": [],
        "assigned_nodes": if running { json!(job.nodes) } else { json!([]) },
        "resources_by_type": if running {
            let mut r = json!({"cores": job.nodes.iter().map(|n| format!("{n}/0")).collect::<Vec<_>>()});
            if job.vlan { r["vlans"] = json!([4]); }
            r
        } else { json!({}) },
        "links": [
            {"rel": "self", "href": format!("{base}/sites/{}/jobs/{}", job.site, job.uid), "type": "application/vnd.grid5000.item+json"},
            {"rel": "parent", "href": format!("{base}/sites/{}", job.site), "type": "application/vnd.grid5000.item+json"}
        ],
    })
}

/// `{cluster='X'}/nodes=N+{type='kavlan'}/vlan=1,walltime=HH:MM:SS`.
fn parse_resources(resources: &str) -> (Vec<(String, u32)>, bool, u64) {
    let (criteria, walltime) = resources
        .split_once(",walltime=")
        .unwrap_or((resources, "01:00:00"));
    let mut clusters = Vec::new();
    let mut vlan = false;
    for part in criteria.split('+') {
        if let Some(rest) = part.strip_prefix("{cluster='")
            && let Some((cluster, count)) = rest.split_once("'}/nodes=")
        {
            clusters.push((cluster.to_owned(), count.parse().unwrap_or(0)));
        } else if part.starts_with("{type='kavlan") {
            vlan = true;
        }
    }
    let seconds = walltime
        .split(':')
        .fold(0u64, |acc, p| acc * 60 + p.parse::<u64>().unwrap_or(0));
    (clusters, vlan, seconds)
}

fn route(world: &mut World, request: &Recorded) -> Response<Full<Bytes>> {
    let Some(path) = request.path.strip_prefix("/stable") else {
        return not_found("path");
    };
    let base = "/stable";
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), parts.as_slice()) {
        ("GET", ["sites"]) => {
            let mut sites: Vec<&String> = world.clusters.values().map(|(s, _)| s).collect();
            sites.sort();
            sites.dedup();
            let items: Vec<Value> = sites.iter().map(|s| json!({"uid": s})).collect();
            reply(
                200,
                json!({"total": items.len(), "offset": 0, "items": items, "links": []}),
            )
        }
        ("GET", ["sites", site]) => reply(
            200,
            json!({"uid": site, "name": site, "links": [{"rel": "self", "href": format!("{base}/sites/{site}")}]}),
        ),
        ("GET", ["sites", site, "clusters"]) => {
            let items: Vec<Value> = world
                .clusters
                .iter()
                .filter(|(_, (s, _))| s == site)
                .map(|(c, _)| json!({"uid": c}))
                .collect();
            reply(
                200,
                json!({"total": items.len(), "offset": 0, "items": items}),
            )
        }
        ("GET", ["sites", site, "clusters", cluster, "nodes"]) => {
            let Some((_, n)) = world.clusters.get(*cluster).filter(|(s, _)| s == site) else {
                return not_found("cluster");
            };
            let site_index = match *site {
                "rennes" => 96,
                "nancy" => 64,
                _ => 16,
            };
            let items: Vec<Value> = (1..=*n)
                .map(|i| {
                    json!({
                        "uid": format!("{cluster}-{i}"),
                        "network_adapters": [
                            {"device": "bmc", "ip": format!("172.17.{site_index}.{i}"), "management": true, "mounted": false},
                            {"device": "eth0", "name": "eno1", "ip": format!("172.16.{site_index}.{i}"), "management": false, "mounted": true,
                             "network_address": format!("{cluster}-{i}.{site}.grid5000.fr")},
                            {"device": "eth1", "ip": format!("172.16.{}.{i}", site_index + 1), "management": false, "mounted": false}
                        ]
                    })
                })
                .collect();
            reply(
                200,
                json!({"total": items.len(), "offset": 0, "items": items}),
            )
        }
        ("GET", ["sites", site, "jobs"]) => {
            let states: Vec<&str> = request
                .params
                .get("state")
                .map(|s| s.split(',').collect())
                .unwrap_or_default();
            let items: Vec<Value> = world
                .jobs
                .values()
                .filter(|j| j.site == *site)
                .filter(|j| request.params.get("name").is_none_or(|n| *n == j.name))
                .filter(|j| request.params.get("user").is_none_or(|u| *u == j.user))
                .filter(|j| states.is_empty() || states.contains(&j.state.as_str()))
                .map(|j| job_json(j, base))
                .collect();
            reply(
                200,
                json!({"total": items.len(), "offset": 0, "items": items, "links": []}),
            )
        }
        ("POST", ["sites", site, "jobs"]) => {
            let Some(body) = request.body.clone().filter(Value::is_object) else {
                return text(
                    400,
                    "The job you are trying to submit is not valid",
                    "text/plain",
                );
            };
            if body.get("command").is_none() {
                return text(
                    400,
                    "The job you are trying to submit is not valid: command is missing",
                    "text/plain",
                );
            }
            let resources = body["resources"].as_str().unwrap_or("nodes=1").to_owned();
            let (clusters, vlan, walltime) = parse_resources(&resources);
            let uid = world.next_uid;
            world.next_uid += 1;
            let user = USER.to_owned();
            let mut nodes = Vec::new();
            for (cluster, count) in &clusters {
                let used: Vec<String> = world
                    .jobs
                    .values()
                    .filter(|j| !matches!(j.state.as_str(), "error" | "terminated"))
                    .flat_map(|j| j.nodes.clone())
                    .collect();
                let free = (1..=world.clusters.get(cluster).map_or(0, |c| c.1))
                    .map(|i| format!("{cluster}-{i}.{site}.grid5000.fr"))
                    .filter(|n| !used.contains(n) && !world.withheld.contains(n))
                    .take(*count as usize);
                nodes.extend(free);
            }
            let job = FakeJob {
                uid,
                site: site.to_string(),
                name: body["name"].as_str().unwrap_or_default().to_owned(),
                user,
                state: "waiting".into(),
                script: world.job_script.iter().cloned().collect(),
                body,
                vlan,
                nodes,
                walltime,
                scheduled_at: world.scheduled_at,
                walltime_requests: Vec::new(),
            };
            let json = job_json(&job, base);
            world.jobs.insert(uid, job);
            let mut response = reply(201, json);
            response.headers_mut().insert(
                hyper::header::LOCATION,
                format!("{base}/sites/{site}/jobs/{uid}")
                    .parse()
                    .expect("header"),
            );
            response
        }
        ("GET", ["sites", site, "jobs", uid]) => {
            let Some(job) = uid
                .parse::<u64>()
                .ok()
                .and_then(|uid| world.jobs.get_mut(&uid))
                .filter(|j| j.site == *site)
            else {
                return not_found(&format!("Job id '{uid}'"));
            };
            if let Some(next) = job.script.pop_front() {
                job.state = next;
            }
            reply(200, job_json(job, base))
        }
        ("DELETE", ["sites", site, "jobs", uid]) => {
            let Some(job) = uid
                .parse::<u64>()
                .ok()
                .and_then(|uid| world.jobs.get_mut(&uid))
                .filter(|j| j.site == *site)
            else {
                return not_found(&format!("Job id '{uid}'"));
            };
            if matches!(job.state.as_str(), "error" | "terminated") {
                return text(
                    400,
                    &format!("Deleting the job = {uid} ...This job was already killed"),
                    "text/plain",
                );
            }
            job.state = "error".into();
            job.script.clear();
            let mut response = text(202, "", "text/plain");
            response.headers_mut().insert(
                "X-Oar-Info",
                format!("Deleting the job = {uid} ...REGISTERED.")
                    .parse()
                    .expect("header"),
            );
            response
        }
        ("POST", ["sites", site, "jobs", uid, "walltime"]) => {
            let Some(job) = uid
                .parse::<u64>()
                .ok()
                .and_then(|uid| world.jobs.get_mut(&uid))
                .filter(|j| j.site == *site)
            else {
                return not_found(&format!("Job id '{uid}'"));
            };
            job.walltime_requests
                .push(request.body.clone().unwrap_or(Value::Null));
            reply(
                202,
                json!({"status": "Walltime change request accepted", "uid": job.uid}),
            )
        }
        ("POST", ["sites", site, "deployments"]) => {
            let Some(body) = request.body.clone() else {
                return text(400, "nodes and environment are required", "text/plain");
            };
            let uid = format!("D-{:08x}-{}", world.deployments.len() + 1, site);
            world.deployments.insert(
                uid.clone(),
                FakeDeployment {
                    site: site.to_string(),
                    body: body.clone(),
                    gets: 0,
                },
            );
            reply(
                201,
                json!({"uid": uid, "site_uid": site, "user_uid": USER, "environment": body["environment"],
                       "status": "processing", "nodes": body["nodes"], "result": null, "links": []}),
            )
        }
        ("GET", ["sites", site, "deployments", uid]) => {
            let limit = world.deployment_gets;
            let Some(deployment) = world.deployments.get_mut(*uid).filter(|d| d.site == *site)
            else {
                return not_found("deployment");
            };
            deployment.gets += 1;
            let nodes: Vec<String> = deployment.body["nodes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let done = deployment.gets >= limit;
            let body = deployment.body.clone();
            if !done {
                return reply(
                    200,
                    json!({"uid": uid, "status": "processing", "nodes": nodes, "environment": body["environment"], "result": null}),
                );
            }
            let mut result = serde_json::Map::new();
            for node in &nodes {
                let ko = world.ko.get_mut(node).is_some_and(|left| {
                    if *left > 0 {
                        *left -= 1;
                        true
                    } else {
                        false
                    }
                });
                result.insert(
                    node.clone(),
                    json!({"macro": null, "micro": null, "state": if ko { "KO" } else { "OK" }}),
                );
            }
            reply(
                200,
                json!({"uid": uid, "status": "terminated", "nodes": nodes, "environment": body["environment"], "result": result}),
            )
        }
        _ => not_found("route"),
    }
}
