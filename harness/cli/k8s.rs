//! `wpbench k8s render`: the Kubernetes objects that run a scenario on a
//! fleet of nodes, one pod per node.

use std::process::ExitCode;

use super::args::K8sRenderArgs;
use crate::error::{Error, Result};
use crate::k8s;
use crate::rundir::out_flag_problem;
use crate::scenario;

pub(super) fn render(a: &K8sRenderArgs) -> Result<ExitCode> {
    let bytes = std::fs::read(&a.file).map_err(|e| {
        Error::Usage(format!(
            "{}: cannot read the scenario: {e}",
            a.file.display()
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::Usage(format!(
            "{}: the scenario is not UTF-8 text: {e}",
            a.file.display()
        ))
    })?;
    let scenario = scenario::load_str(&text, &a.file)?;
    let file_name = k8s::file_name(&a.file)
        .ok_or_else(|| Error::Usage(format!("{}: not a file name", a.file.display())))?;
    let placement = match (&a.nodes, &a.node_selector, a.count) {
        (Some(nodes), _, _) => k8s::Placement::Nodes(k8s::parse_nodes(nodes)),
        (None, Some(sel), Some(count)) => k8s::Placement::Selector {
            labels: k8s::parse_selector(sel).map_err(Error::Usage)?,
            count,
        },
        _ => {
            return Err(Error::Usage(
                "give --nodes a,b,c or --node-selector key=value --count N".into(),
            ))
        }
    };
    let opts = k8s::Options {
        image: a.image.clone(),
        placement,
        namespace: a.namespace.clone(),
        create_namespace: a.create_namespace,
        name: a.name.clone(),
    };
    let beside = read_beside(&a.file, &scenario)?;
    let source = k8s::Source {
        file_name,
        text: &text,
        beside: &beside,
    };
    let manifests = k8s::render(&scenario, source, &opts).map_err(Error::Usage)?;
    let Some(dir) = &a.out else {
        print!("{}", k8s::stream(&manifests));
        return Ok(ExitCode::SUCCESS);
    };
    if let Some(problem) = out_flag_problem(dir) {
        return Err(Error::Usage(problem));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::run_io(format!("creating {}", dir.display()), e))?;
    for m in &manifests {
        let path = dir.join(&m.file_name);
        std::fs::write(&path, &m.yaml)
            .map_err(|e| Error::run_io(format!("writing {}", path.display()), e))?;
        println!("wrote {}", path.display());
    }
    println!(
        "apply with: kubectl apply -f {}, then gather the results with: wpbench k8s collect \
         --namespace {} --name {} -o DIR  (docs/fleet.md, \"Running it and gathering the results\")",
        dir.display(),
        opts.namespace,
        k8s::job_name(&scenario, &opts)
    );
    Ok(ExitCode::SUCCESS)
}

/// The files the scenario at `file` names beside itself, read for the
/// ConfigMap.
fn read_beside(file: &std::path::Path, scenario: &scenario::Scenario) -> Result<Vec<k8s::Beside>> {
    let dir = file.parent().unwrap_or(std::path::Path::new(""));
    k8s::beside_files(scenario)
        .map_err(Error::Usage)?
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(dir.join(&path)).map_err(|e| {
                Error::Usage(format!("{}: cannot read {path}: {e}", file.display()))
            })?;
            Ok(k8s::Beside { path, text })
        })
        .collect()
}
