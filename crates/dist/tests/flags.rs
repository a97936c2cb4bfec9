//! One command line across the six tools (ARCHITECTURE.md, "Flags"): read
//! from every tool's own clap command, so a new flag is covered without
//! anyone remembering. A long name has one value form (value names, arity,
//! action) everywhere, and a short letter one long name; help texts may
//! differ, hidden aliases (old spellings) are left out. The table in
//! ARCHITECTURE.md is generated from the same commands and must match:
//! `UPDATE_FLAG_TABLE=1 cargo test -p dist --test flags` rewrites it.

use std::collections::BTreeMap;
use std::path::Path;

use clap::{Arg, Command, CommandFactory};

fn commands() -> Vec<Command> {
    let mut commands = vec![
        ecr_login::Args::command(),
        oci_push::Args::command(),
        taskdef_render::Args::command(),
        ecs_deploy::Args::command(),
        ecs_wait::Args::command(),
        ecs_run::Args::command(),
    ];
    // Built, so that every argument has its arity and action set.
    for command in &mut commands {
        command.build();
    }
    commands
}

/// Every visible flag of a tool (its subcommands' too), with the tool's
/// name.
fn flags(command: &Command) -> Vec<(String, Arg)> {
    let mut out = Vec::new();
    let mut stack = vec![command.clone()];
    let tool = command.get_name().to_string();
    while let Some(command) = stack.pop() {
        for arg in command.get_arguments() {
            let builtin = matches!(arg.get_long(), Some("help" | "version"));
            if !arg.is_hide_set() && !builtin && arg.get_long().is_some() {
                out.push((tool.clone(), arg.clone()));
            }
        }
        stack.extend(command.get_subcommands().cloned());
    }
    out
}

/// What a flag takes: its value names and arity, or nothing (a switch).
fn form(arg: &Arg) -> String {
    let takes = arg.get_num_args().is_some_and(|n| n.takes_values());
    if !takes {
        return "(switch)".to_string();
    }
    let names: Vec<String> = arg
        .get_value_names()
        .map(|names| names.iter().map(|n| format!("<{n}>")).collect())
        .unwrap_or_else(|| vec![format!("<{}>", arg.get_id().as_str().to_uppercase())]);
    let repeat = if matches!(arg.get_action(), clap::ArgAction::Append) {
        " (repeatable)"
    } else {
        ""
    };
    format!("{}{repeat}", names.join(" "))
}

#[test]
fn one_long_flag_has_one_value_form_in_every_tool() {
    let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut clashes = Vec::new();
    for command in commands() {
        for (tool, arg) in flags(&command) {
            let long = arg.get_long().unwrap_or_default().to_string();
            let here = form(&arg).replace(" (repeatable)", "");
            match seen.get(&long) {
                Some((first, there)) if *there != here => {
                    clashes.push(format!("--{long}: {there} in {first}, {here} in {tool}"));
                }
                Some(_) => {}
                None => {
                    seen.insert(long, (tool, here));
                }
            }
        }
    }
    assert!(clashes.is_empty(), "{}", clashes.join("\n"));
}

#[test]
fn one_short_letter_has_one_long_name_in_every_tool() {
    let mut seen: BTreeMap<char, (String, String)> = BTreeMap::new();
    let mut clashes = Vec::new();
    for command in commands() {
        for (tool, arg) in flags(&command) {
            let (Some(short), Some(long)) = (arg.get_short(), arg.get_long()) else {
                continue;
            };
            match seen.get(&short) {
                Some((first, there)) if there != long => {
                    clashes.push(format!(
                        "-{short}: --{there} in {first}, --{long} in {tool}"
                    ));
                }
                Some(_) => {}
                None => {
                    seen.insert(short, (tool, long.to_string()));
                }
            }
        }
    }
    assert!(clashes.is_empty(), "{}", clashes.join("\n"));
}

/// The table: one row a flag, the tools that have it, its short form and
/// value, and what it is (the first tool's help, alphabetically).
fn table() -> String {
    let mut rows: BTreeMap<String, (Option<char>, String, String, Vec<String>)> = BTreeMap::new();
    // The tools where a flag has no short form, though another has one.
    let mut without_short: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut commands = commands();
    commands.sort_by(|a, b| a.get_name().cmp(b.get_name()));
    for command in commands {
        for (tool, arg) in flags(&command) {
            let long = arg.get_long().unwrap_or_default().to_string();
            let help = arg
                .get_help()
                .map(|h| h.to_string())
                .unwrap_or_default()
                .replace('|', "\\|");
            if arg.get_short().is_none() {
                without_short
                    .entry(long.clone())
                    .or_default()
                    .push(tool.clone());
            }
            let row = rows
                .entry(long)
                .or_insert_with(|| (None, form(&arg), help, Vec::new()));
            row.0 = row.0.or(arg.get_short());
            if !row.3.contains(&tool) {
                row.3.push(tool);
            }
        }
    }
    let mut text = String::from(
        "| flag | short | value | tools | what it is |\n| --- | --- | --- | --- | --- |\n",
    );
    for (long, (short, form, help, tools)) in rows {
        let short = match (short, without_short.get(&long)) {
            (Some(c), Some(tools)) => format!("`-{c}` (not in {})", tools.join(", ")),
            (Some(c), None) => format!("`-{c}`"),
            (None, _) => String::new(),
        };
        let form = form.replace(['<', '>'], "`");
        text.push_str(&format!(
            "| `--{long}` | {short} | {form} | {} | {help} |\n",
            tools.join(", ")
        ));
    }
    text
}

const BEGIN: &str = "<!-- flag table: generated by crates/dist/tests/flags.rs -->\n";
const END: &str = "<!-- end of the flag table -->";

#[test]
fn the_flag_table_in_architecture_md_is_the_tools_own() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ARCHITECTURE.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text
        .find(BEGIN)
        .expect("ARCHITECTURE.md has the flag table's markers")
        + BEGIN.len();
    let end = text[start..]
        .find(END)
        .expect("the flag table's end marker")
        + start;
    let want = table();
    if std::env::var_os("UPDATE_FLAG_TABLE").is_some() {
        let updated = format!("{}{want}{}", &text[..start], &text[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        &text[start..end],
        want,
        "ARCHITECTURE.md's flag table is not the tools' own: UPDATE_FLAG_TABLE=1 cargo test -p dist --test flags"
    );
}
