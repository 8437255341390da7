//! `cvxcnn`: the command-line shell over the library. It parses flags ([`args`], [`flags`]),
//! shows progress ([`progress`]) and summaries ([`output`]), and calls the library; all
//! numerics and file formats live in the library.

mod args;
mod commands;
mod compare;
mod flags;
mod interrupts;
mod output;
mod plot;
mod progress;
mod report;

use args::{Cli, Command};
use clap::Parser;

fn run() -> cvxcnn::Result<i32> {
    let cli = Cli::parse();
    interrupts::install();
    match cli.command {
        Command::Train(a) => return commands::train::cmd_train(*a),
        Command::Patterns(a) => commands::patterns::cmd_patterns(a),
        Command::Eval(a) => {
            let model = cvxcnn::export::SavedModel::load(&a.model)?;
            let ds = commands::model::select(&model, flags::load(&a.data)?, a.split)?;
            commands::model::eval(&model, ds, a.json)
        }
        Command::Predict(a) => {
            let model = cvxcnn::export::SavedModel::load(&a.model)?;
            let ds = commands::model::select(&model, flags::load(&a.data)?, a.split)?;
            commands::model::predict(&model, ds, a.json)
        }
        Command::Compare(a) => commands::compare::cmd_compare(*a),
    }
    .map(|()| 0)
}

fn main() {
    let code = match run() {
        Ok(code) => code,
        Err(cvxcnn::Error::Interrupted) => {
            eprintln!("interrupted: nothing written");
            interrupts::EXIT_INTERRUPTED
        }
        Err(e) => {
            eprintln!("error: {}", flags::describe(&e));
            2
        }
    };
    std::process::exit(code);
}
