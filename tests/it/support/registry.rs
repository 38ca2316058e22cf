//! Starts Debian's `docker-registry` (CNCF distribution 2.8) on a free loopback port with a
//! temporary storage folder, plain, with htpasswd basic auth, or with TLS certificates made by
//! `openssl` here.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// TLS set-up of a test registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain HTTP.
    None,
    /// A certificate from `openssl req -x509` (CA:TRUE, as Debian's defaults make it).
    SelfSigned,
    /// A server certificate signed by a test CA.
    CaSigned,
    /// CaSigned, and the registry requires a client certificate signed by the same CA
    /// (`Registry::client_certificate` makes one).
    Mutual,
}

/// A running registry, stopped when dropped.
pub struct Registry {
    child: Child,
    token_server: Option<Child>,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The folder holding its config, storage, log and certificates.
    pub dir: tempfile::TempDir,
    /// The certificate a client must trust (the CA for CaSigned, the certificate itself for
    /// SelfSigned).
    pub ca: Option<PathBuf>,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A key and a self-signed certificate as `openssl req -x509` makes them (CA:TRUE).
fn self_signed(key: &Path, cert: &Path, subject: &str, san: Option<&str>) {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", subject,
    ]);
    if let Some(san) = san {
        cmd.args(["-addext", san]);
    }
    run(cmd.arg("-keyout").arg(key).arg("-out").arg(cert));
}

/// A new key and a certificate for `subject` signed by the CA, with the extensions in `ext`.
fn ca_signed(ca: &Path, ca_key: &Path, key: &Path, cert: &Path, subject: &str, ext: Option<&Path>) {
    let csr = cert.with_extension("csr");
    run(Command::new("openssl")
        .args([
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout",
        ])
        .arg(key)
        .arg("-out")
        .arg(&csr));
    let mut sign = Command::new("openssl");
    sign.args(["x509", "-req", "-days", "2", "-in"])
        .arg(&csr)
        .arg("-CA")
        .arg(ca)
        .arg("-CAkey")
        .arg(ca_key)
        .args(["-CAcreateserial", "-out"])
        .arg(cert);
    if let Some(ext) = ext {
        sign.arg("-extfile").arg(ext);
    }
    run(&mut sign);
}

fn make_certs(dir: &Path, tls: Tls) -> (PathBuf, PathBuf, PathBuf) {
    let key = dir.join("server.key");
    let cert = dir.join("server.crt");
    let san = "subjectAltName=IP:127.0.0.1,DNS:localhost";
    match tls {
        Tls::SelfSigned => {
            self_signed(&key, &cert, "/CN=127.0.0.1", Some(san));
            (cert.clone(), key, cert)
        }
        Tls::CaSigned | Tls::Mutual => {
            let ca_key = dir.join("ca.key");
            let ca = dir.join("ca.crt");
            self_signed(&ca_key, &ca, "/CN=packreg test CA", None);
            let ext = dir.join("ext.cnf");
            std::fs::write(&ext, format!("basicConstraints=CA:FALSE\n{san}\n")).unwrap();
            ca_signed(&ca, &ca_key, &key, &cert, "/CN=127.0.0.1", Some(&ext));
            (ca, key, cert)
        }
        Tls::None => unreachable!(),
    }
}

/// A user of the token issuer: password, granted actions (`pull`, `push`, `catalog`) and an
/// optional refresh token (identity token).
pub struct TokenUser<'a> {
    /// Name.
    pub name: &'a str,
    /// Password.
    pub password: &'a str,
    /// Actions the issuer grants.
    pub actions: &'a [&'a str],
    /// Refresh token accepted for the OAuth2 refresh_token grant.
    pub refresh_token: Option<&'a str>,
}

impl Registry {
    /// Starts a plain-HTTP registry using token authentication, with a token issuer (the
    /// Python script in tests/support) that signs JWTs with a key made here.
    pub fn start_with_tokens(users: &[TokenUser]) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("token.key");
        let cert = dir.path().join("token.crt");
        self_signed(&key, &cert, "/CN=packreg token issuer", None);
        let users_json: serde_json::Map<String, serde_json::Value> = users
            .iter()
            .map(|u| {
                (
                    u.name.to_string(),
                    serde_json::json!({"password": u.password, "actions": u.actions, "refresh_token": u.refresh_token}),
                )
            })
            .collect();
        let port_file = dir.path().join("token.port");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/token_server.py");
        let log = std::fs::File::create(dir.path().join("token.log")).unwrap();
        let server = Command::new("python3")
            .arg(script)
            .arg(&key)
            .arg(&cert)
            .arg(&port_file)
            .args(["packreg-test-issuer", "packreg-test"])
            .arg(serde_json::Value::Object(users_json).to_string())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("python3 runs the token server");
        let start = Instant::now();
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                break p;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "token server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let auth = format!(
            "auth:\n  token:\n    realm: http://127.0.0.1:{port}/token\n    service: packreg-test\n    issuer: packreg-test-issuer\n    rootcertbundle: {}\n",
            cert.display()
        );
        let mut registry = Self::launch(dir, Tls::None, &auth);
        registry.token_server = Some(server);
        registry
    }

    /// Starts a registry; `htpasswd` holds (user, password) for basic auth.
    pub fn start(tls: Tls, htpasswd: Option<(&str, &str)>) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let mut auth = String::new();
        if let Some((user, pass)) = htpasswd {
            let file = dir.path().join("htpasswd");
            run(Command::new("htpasswd")
                .args(["-Bbc"])
                .arg(&file)
                .args([user, pass]));
            auth = format!(
                "auth:\n  htpasswd:\n    realm: packreg-test\n    path: {}\n",
                file.display()
            );
        }
        Self::launch(dir, tls, &auth)
    }

    /// Starts a plain registry whose configuration leaves deletes disabled (the default of
    /// CNCF distribution).
    pub fn start_without_deletes() -> Registry {
        Self::launch_with(tempfile::tempdir().unwrap(), Tls::None, "", false)
    }

    fn launch(dir: tempfile::TempDir, tls: Tls, auth: &str) -> Registry {
        Self::launch_with(dir, tls, auth, true)
    }

    fn launch_with(dir: tempfile::TempDir, tls: Tls, auth: &str, deletes: bool) -> Registry {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: {deletes}\nhttp:\n  addr: {addr}\n  secret: packreg-test-upload-state-secret\n",
            dir.path().join("data").display()
        );
        let mut ca = None;
        if tls != Tls::None {
            let (trust, key, cert) = make_certs(dir.path(), tls);
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
            if tls == Tls::Mutual {
                config.push_str(&format!("    clientcas:\n      - {}\n", trust.display()));
            }
            ca = Some(trust);
        }
        config.push_str(auth);
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        let registry = Registry {
            child,
            token_server: None,
            addr,
            dir,
            ca,
        };
        registry.wait_ready();
        registry
    }

    /// Waits until the registry answers HTTP (or, with TLS, accepts connections).
    fn wait_ready(&self) {
        use std::io::Write;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(mut stream) = std::net::TcpStream::connect(&self.addr) {
                if self.ca.is_some() {
                    return;
                }
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let request = format!("GET /v2/ HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr);
                let mut head = [0u8; 12];
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read(&mut head).is_ok_and(|n| n >= 12)
                    && head.starts_with(b"HTTP/1.")
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("registry did not start: {}", self.log());
    }

    /// A client certificate and key (PKCS#8) signed by the test CA, written into `dir` as
    /// docker names them: `client.cert`, `client.key`.
    pub fn client_certificate(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        ca_signed(
            &self.dir.path().join("ca.crt"),
            &self.dir.path().join("ca.key"),
            &dir.join("client.key"),
            &dir.join("client.cert"),
            "/CN=packreg test client",
            None,
        );
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.path().join("registry.log")) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// How many blob upload sessions (`POST …/blobs/uploads/`) the registry has seen.
    pub fn upload_requests(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("\"POST /v2/") && l.contains("/blobs/uploads/"))
            .count()
    }
}

impl Registry {
    /// Kills the registry process (its storage stays), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the registry again on the same address and storage, after [`Registry::kill`].
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("registry.log"))
            .unwrap();
        self.child = Command::new("docker-registry")
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        self.wait_ready();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(server) = &mut self.token_server {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}
