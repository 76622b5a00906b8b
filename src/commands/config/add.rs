//! `kestractl config add`: a context from the global --server, --tenant and --username.

use crate::commands::{Ctx, Run};
use crate::error::{Error, Exit, Result};
use crate::settings::{ConfigFile, Context, config_file, validate};

/// Add a context from --server, --tenant and --username (current with --use, or if it is the first)
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  kestractl config add prod --server https://kestra.example.com --username ops@example.com --use"
)]
pub struct Args {
    /// Context name (letters, digits, `-`, `_`, `.`)
    pub name: String,

    /// Make it the current context
    #[arg(long = "use")]
    pub make_current: bool,

    /// Replace an existing context of the same name
    #[arg(long)]
    pub overwrite: bool,

    /// The Kestra image the local stack runs in this context (KESTRA_IMAGE and --image win)
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
}

impl Run for Args {
    async fn run(self, ctx: &Ctx) -> Result<Exit> {
        add(ctx, self)
    }
}

fn add(ctx: &Ctx, args: Args) -> Result<Exit> {
    let g = &ctx.global;
    config_file::validate_context_name(&args.name)
        .map_err(|m| Error::usage(m, "pick another name"))?;
    let Some(server) = g.server.as_deref() else {
        return Err(Error::usage(
            "`config add` needs the server URL of the context",
            format!(
                "kestractl config add {} --server https://kestra.example.com [--username you@example.com]",
                args.name
            ),
        ));
    };
    let server = validate::server_url(server).map_err(|m| Error::usage(m, "fix --server"))?;
    if let Some(t) = &g.tenant {
        validate::tenant(t).map_err(|m| Error::usage(m, "fix --tenant"))?;
    }
    if let Some(u) = &g.username {
        validate::username(u).map_err(|m| Error::usage(m, "fix --username"))?;
    }
    if let Some(image) = &args.image {
        crate::settings::stack::validate_image(image)
            .map_err(|m| Error::usage(m, "fix --image (e.g. kestra/kestra:2.0.5)"))?;
    }
    let path = ctx.config_path()?;
    let mut config = ConfigFile::load(&path)?;
    if config.contexts.contains_key(&args.name) && !args.overwrite {
        return Err(Error::usage(
            format!("a context named `{}` already exists", args.name),
            "add --overwrite to replace it, or pick another name",
        ));
    }
    config.contexts.insert(
        args.name.clone(),
        Context {
            server: Some(crate::settings::display_url(&server)),
            tenant: g.tenant.clone(),
            username: g.username.clone(),
            image: args.image.clone(),
        },
    );
    let becomes_current = args.make_current || config.current_context.is_none();
    if becomes_current {
        config.current_context = Some(args.name.clone());
    }
    config.save(&path)?;
    let current = if becomes_current {
        " (now the current context)"
    } else {
        ""
    };
    ctx.out.note(&format!(
        "Added context `{}` for {}{current} to {}",
        args.name,
        crate::settings::display_url(&server),
        path.display()
    ));
    Ok(Exit::Ok)
}
