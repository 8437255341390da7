//! `cvxcnn`: the command-line shell over the library. It parses flags ([`args`], [`flags`]),
//! shows progress ([`progress`]) and summaries ([`output`]), and calls the library; all
//! numerics and file formats live in the library.

mod args;
mod commands;
mod compare;
mod flags;
mod output;
mod plot;
mod progress;
mod report;

use args::{Cli, Command};
use clap::Parser;

fn run() -> cvxcnn::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Train(a) => commands::train::cmd_train(a),
        Command::Patterns(a) => commands::patterns::cmd_patterns(a),
        Command::Eval(a) => {
            let (net, info) = commands::model::load_model(&a.model)?;
            commands::model::eval(&net, &info, flags::load(&a.data)?, a.json)
        }
        Command::Predict(a) => {
            let (net, info) = commands::model::load_model(&a.model)?;
            commands::model::predict(&net, &info, flags::load(&a.data)?, a.json)
        }
        Command::Compare(a) => commands::compare::cmd_compare(*a),
    }
}

fn main() {
    let code = match run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", flags::describe(&e));
            2
        }
    };
    std::process::exit(code);
}
