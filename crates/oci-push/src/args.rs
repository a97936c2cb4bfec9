//! The command line, as clap parses it. Nothing here is checked beyond what
//! clap knows; [`crate::config`] validates it all before the image is opened.

use std::path::PathBuf;

use clap::Parser;

const EXAMPLES: &str = "\
Examples:
  # Push an OCI layout (buildx --output type=oci,tar=false, buildah, kaniko, skopeo) under two tags
  oci-push --from ./image --to registry.example.com/team/web --tag \"$GIT_SHA\" --tag latest

  # After ecr-login: the registry comes from the object on stdin
  ecr-login | oci-push --from image.oci.tar --repository web --tag \"$GIT_SHA\"

  # A docker save tar, no daemon (plain, .tar.gz or .tar.zst): layers compressed on the way
  oci-push --from web.tar.gz --to registry.example.com/team/web --tag \"$GIT_SHA\"

  # One image of a layout that holds several, one platform of an index
  oci-push --from ./layout --ref web --platform linux/arm64 --to localhost:5000/web --tag arm64

Output: the stdin object (or {}) with image: {registry, repository, digest, tags, uri,
mediaType, platforms?}; uri is registry/repository@digest, ready for taskdef-render.

Blobs the registry has are not sent (--force sends all); the others stream from disk
as one PUT each, their digests checked as they pass: a corrupt blob is exit 2 and no
manifest or tag is pushed. Credentials: --username with --password-stdin, else the
Docker config (auths, credHelpers, credsStore), else none. Plain HTTP only for
registries on this machine or with --insecure.

A docker save tar (classic, with symlinked layers, or Docker 25+) has uncompressed
layers: each is gzip-compressed as it streams (deterministic: one layer, one digest),
as docker push does (--compress zstd: zstd, in an OCI manifest; --compress none: as
they are); a layer the target tags already hold is
found through their manifests and configs and not sent again, with no local cache.

GitHub Actions: with $GITHUB_STEP_SUMMARY set, a section is appended to the job
summary (repository, digest, tags); $GITHUB_OUTPUT gets image=, digest= and tags=.

Exit codes: 0 pushed; 1 the registry refused or could not be reached; 2 bad flag or
image: no manifest or tag pushed (a corrupt blob is found as it streams, after other
blobs went; the message says what was uploaded). Any failure prints the stdin object (or {}; never the password
of --password-stdin) with error: {tool, message, exitCode} unless stdout is a
terminal, and an object on stdin that carries \"error\" (an earlier step failed) is
passed on untouched with that step's exit code, nothing pushed.";

/// Push an image to a registry with no Docker daemon, from an OCI image
/// layout, an oci-archive or a docker save tar, skipping blobs the registry
/// already has.
#[derive(Parser, Debug)]
#[command(name = "oci-push", version, after_long_help = EXAMPLES, after_help = "Examples and details: oci-push --help")]
pub struct Args {
    /// Do not read stdin (jq's -n), for a loop or script whose stdin is something else
    #[arg(long, short = 'n')]
    pub null_input: bool,

    /// The image: an OCI image layout directory, an oci-archive or a docker save tar
    #[arg(long, value_name = "PATH")]
    pub from: PathBuf,

    /// Destination REGISTRY/REPOSITORY (registry host with its port, if any)
    #[arg(long, value_name = "REGISTRY/REPOSITORY")]
    pub to: Option<String>,

    /// Destination repository in the registry of stdin's registry.endpoint (as ecr-login writes it)
    #[arg(long, value_name = "NAME", conflicts_with = "to")]
    pub repository: Option<String>,

    /// Tag to push (repeatable; at least one, or --digest-only)
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,

    /// Push by digest alone, with no tag
    #[arg(long, conflicts_with = "tag")]
    pub digest_only: bool,

    /// The image of that org.opencontainers.image.ref.name (or docker save RepoTag) when the source holds several
    #[arg(long = "ref", value_name = "NAME")]
    pub reference: Option<String>,

    /// One platform (os/arch) of a multi-platform index (default: the whole index)
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,

    /// Username for the registry; the password comes on stdin (--password-stdin)
    #[arg(long, value_name = "NAME", requires = "password_stdin")]
    pub username: Option<String>,

    /// Read the password from stdin (then no JSON object is read: give --to)
    #[arg(long, requires = "username")]
    pub password_stdin: bool,

    /// Directory of the Docker config.json to read credentials from (default: $DOCKER_CONFIG, then ~/.docker)
    #[arg(long, value_name = "DIR")]
    pub docker_config: Option<PathBuf>,

    /// containers-registries.conf(5) file whose [[registry]] prefix/location/insecure entries say where a registry really is (default: $CONTAINERS_REGISTRIES_CONF)
    #[arg(long, value_name = "FILE")]
    pub registries_conf: Option<PathBuf>,

    /// Create the repository when the registry is Amazon ECR and it does not exist (through the ECR API)
    #[arg(long)]
    pub create_repository: bool,

    /// Plain HTTP to a registry that is not on this machine
    #[arg(long)]
    pub insecure: bool,

    /// Another image whose layers a docker save tar's may already be (TAG of the target repository, or REPOSITORY:TAG in the same registry; repeatable): found layers are not compressed or sent, and are mounted from another repository
    #[arg(long, value_name = "REF")]
    pub reuse_from: Vec<String>,

    /// A repository of the same registry to mount missing blobs from, when it has them, instead of uploading them
    #[arg(long, value_name = "REPOSITORY")]
    pub mount_from: Option<String>,

    /// Upload every blob and tag without asking what the registry has
    #[arg(long)]
    pub force: bool,

    /// How long a registry may stay silent before the request fails and is tried again (90s, 2m)
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub idle_timeout: String,

    /// The old name of --idle-timeout, in bare seconds (a deprecation warning)
    #[arg(long = "timeout", value_name = "SECONDS", hide = true)]
    pub old_timeout: Option<u64>,

    /// Blobs uploaded at once
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub jobs: usize,

    /// How uncompressed layers (docker save tars, uncompressed layouts) are sent: gzip (as docker push does), zstd (in an OCI manifest) or none (as they are)
    #[arg(long, value_enum, value_name = "HOW", default_value = "gzip")]
    pub compress: crate::compress::Compress,

    /// Also write the pushed digest to this file
    #[arg(long, value_name = "PATH")]
    pub digest_file: Option<PathBuf>,

    #[command(flatten, next_help_heading = "AWS (ECR's API, for an ECR registry)")]
    pub aws: deploykit::aws::AwsArgs,
}

impl deploykit::cli::Streams for Args {
    fn null_input(&self) -> bool {
        self.null_input
    }

    fn stdin_role(&self) -> deploykit::cli::StdinRole {
        if self.password_stdin {
            deploykit::cli::StdinRole::Secret("--password-stdin")
        } else {
            deploykit::cli::StdinRole::Object
        }
    }
}
