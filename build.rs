//! Build script: embed the run-time search path of libtorch into the binary.
//!
//! `torch-sys` links against the libtorch that ships inside the PyPI `torch` wheel of the
//! project's virtualenv (`LIBTORCH_USE_PYTORCH=1`) but leaves finding it at run time to the
//! user (`LD_LIBRARY_PATH`). We ask the same Python where torch lives and add an rpath, so the
//! built `dmosopt` starts from any directory without environment variables.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=VIRTUAL_ENV");
    println!("cargo:rerun-if-env-changed=LIBTORCH_USE_PYTORCH");
    let lib_dir = match std::env::var("LIBTORCH") {
        Ok(root) if !root.is_empty() => Some(format!("{root}/lib")),
        _ => torch_lib_dir_from_python(),
    };
    match lib_dir {
        Some(dir) => {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
            println!("cargo:rustc-env=DMOSOPT_LIBTORCH_DIR={dir}");
        }
        None => println!(
            "cargo:warning=could not locate libtorch; the binary will need LD_LIBRARY_PATH at run time"
        ),
    }
}

fn torch_lib_dir_from_python() -> Option<String> {
    // The same interpreter torch-sys uses: the active virtualenv's, else python3 on PATH.
    let python = match std::env::var("VIRTUAL_ENV") {
        Ok(venv) if !venv.is_empty() => format!("{venv}/bin/python"),
        _ => "python3".to_string(),
    };
    let output = Command::new(python)
        .args([
            "-c",
            "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))",
        ])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let dir = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (!dir.is_empty()).then_some(dir)
}
