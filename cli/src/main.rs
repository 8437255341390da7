//! `cvxcnn`: the command-line shell over the library. All numerics live in the library.

mod arch_cmd;
mod circular_cmd;
mod classify_cmd;
mod cli;
mod compare;
mod compare_cmd;
mod linear_cmd;
mod local_cmd;
mod plot;
mod report;
#[cfg(feature = "sdp")]
mod shared_cmd;
mod three_layer_cmd;

fn main() {
    let code = match cli::run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", cli::describe(&e));
            2
        }
    };
    std::process::exit(code);
}
