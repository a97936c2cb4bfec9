//! `dist DIR`: writes every tool's shell completions (bash, zsh, fish) and
//! man page under DIR, as `make install` lays them out:
//! `share/bash-completion/completions/`, `share/zsh/site-functions/`,
//! `share/fish/vendor_completions.d/`, `share/man/man1/`. Generated from
//! each tool's own clap command, so they never drift from `--help`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), b"usage: dist DIR\n");
        return ExitCode::from(2);
    };
    match write_all(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("dist: writing under {}: {e}\n", dir.display()).as_bytes(),
            );
            ExitCode::from(1)
        }
    }
}

fn write_all(dir: &Path) -> std::io::Result<()> {
    let commands = [
        taskdef_render::Args::command(),
        ecr_login::Args::command(),
        oci_push::Args::command(),
        ecs_deploy::Args::command(),
        ecs_wait::Args::command(),
        ecs_run::Args::command(),
    ];
    let places = [
        (Shell::Bash, "share/bash-completion/completions"),
        (Shell::Zsh, "share/zsh/site-functions"),
        (Shell::Fish, "share/fish/vendor_completions.d"),
    ];
    for (_, place) in &places {
        std::fs::create_dir_all(dir.join(place))?;
    }
    let man = dir.join("share/man/man1");
    std::fs::create_dir_all(&man)?;
    for command in commands {
        let name = command.get_name().to_string();
        for (shell, place) in &places {
            let mut c = command.clone();
            let written = clap_complete::generate_to(*shell, &mut c, &name, dir.join(place))?;
            // bash-completion loads a command's completions from a file
            // named as the command.
            if *shell == Shell::Bash {
                std::fs::rename(&written, dir.join(place).join(&name))?;
            }
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(command.clone()).render(&mut page)?;
        std::fs::write(man.join(format!("{name}.1")), page)?;
    }
    Ok(())
}
