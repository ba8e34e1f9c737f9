//! The write-once part of a new file: named types, `*_spec` datasets, problem ids, seed, the
//! run group, and the (empty) appendable columns.

use std::collections::HashSet;
use std::path::Path;

use hdf5_sys::h5i::hid_t;

use super::raw::{At, Fail, Handle};
use super::types;
use super::write::{self, Column};
use crate::problem::Status;
use crate::store::{EpochSummary, ParamValue, RunMetadata, StoreError};

/// The appendable columns of one problem group, in append order.
#[derive(Debug)]
pub(super) struct Columns {
    /// Fixed-size columns: `epochs`, `parameters`, `objectives`, `constraints` (only if the
    /// problem has constraints), `features` (only if it declares features), `predictions`, `status`, `eval_id`, `worker`, `start_time`,
    /// `duration`.
    pub fixed: Vec<Column>,
    /// The variable-length `error` column.
    pub error: Column,
    /// `/<opt_id>/run/epochs`.
    pub epochs: Column,
    /// `/<opt_id>/run/proposals/`: [`PROPOSAL_COLUMNS`], aligned.
    pub proposals: Vec<Column>,
}

/// The aligned columns of `/<opt_id>/run/proposals/`, one row per proposed candidate, written
/// a whole batch at a time before any of it is dispatched: `eval_id` (u64), `epoch` (u32),
/// `batch` (u32, the number of rows of the batch the row belongs to, so a batch cut short by a
/// kill is recognized), `parameters` (`parameter_space_type`), `predictions`
/// (`surrogate_objective_type`, NaN when none), `feasibility` (f64, the predicted probability
/// of being feasible, NaN when none) and `surrogate_epochs` (i64, the proposing model's
/// training epochs, −1 when none). Files written before the last two were added lack them:
/// they read as absent and are not written when such a file is continued.
pub(super) const PROPOSAL_COLUMNS: [&str; 7] = [
    "eval_id",
    "epoch",
    "batch",
    "parameters",
    "predictions",
    "feasibility",
    "surrogate_epochs",
];

/// Fields of the `run/epochs` table, in order (`epoch` u32, the two counts u64,
/// `surrogate_epochs` i64, the rest f64). Files written before the surrogate-quality fields
/// were added have only the first six (the other [`EpochSummary`] fields read as −1 / NaN).
pub(super) const EPOCH_FIELDS: [&str; 11] = [
    "epoch",
    "n_evaluations",
    "n_feasible",
    "hypervolume",
    "fit_seconds",
    "search_seconds",
    "surrogate_epochs",
    "nrmse",
    "spearman",
    "feasibility_accuracy",
    "feasibility_f1",
];

/// The bytes of one `run/epochs` row with `fields` (those of [`EPOCH_FIELDS`] the table has,
/// in order), laid out as the table's little-endian packed compound.
pub(super) fn epoch_row(summary: &EpochSummary, fields: &[String]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 * fields.len());
    for field in fields {
        match field.as_str() {
            "epoch" => bytes.extend(summary.epoch.to_le_bytes()),
            "n_evaluations" => bytes.extend(summary.n_evaluations.to_le_bytes()),
            "n_feasible" => bytes.extend(summary.n_feasible.to_le_bytes()),
            "surrogate_epochs" => bytes.extend(summary.surrogate_epochs.to_le_bytes()),
            other => {
                let value = match other {
                    "hypervolume" => summary.hypervolume,
                    "fit_seconds" => summary.fit_seconds,
                    "search_seconds" => summary.search_seconds,
                    "nrmse" => summary.nrmse,
                    "spearman" => summary.spearman,
                    "feasibility_accuracy" => summary.feasibility_accuracy,
                    "feasibility_f1" => summary.feasibility_f1,
                    _ => f64::NAN,
                };
                bytes.extend(value.to_le_bytes());
            }
        }
    }
    bytes
}

/// Check names before anything is written, so a bad config never leaves a half-made file.
pub(super) fn validate(meta: &RunMetadata, path: &Path) -> Result<(), StoreError> {
    let invalid = |detail: String| StoreError::Invalid {
        path: path.to_path_buf(),
        detail,
    };
    if meta.opt_id.is_empty() || meta.opt_id.contains('/') || meta.opt_id == "." {
        return Err(invalid(format!(
            "opt_id {:?} must be a non-empty group name without `/`",
            meta.opt_id
        )));
    }
    if meta.schema.objectives.is_empty() {
        return Err(invalid("the problem has no objectives".into()));
    }
    if let Some((name, _)) = meta.features.iter().find(|(_, n)| *n == 0) {
        return Err(invalid(format!("feature `{name}` has length 0")));
    }
    let groups: [(&str, Vec<&str>); 4] = [
        (
            "objective",
            meta.schema.objectives.iter().map(String::as_str).collect(),
        ),
        (
            "constraint",
            meta.schema.constraints.iter().map(String::as_str).collect(),
        ),
        (
            "feature",
            meta.features.iter().map(|(n, _)| n.as_str()).collect(),
        ),
        (
            "parameter",
            meta.constants
                .iter()
                .map(|(n, _)| n.as_str())
                .chain(meta.space.parameters().iter().map(|p| p.name.as_str()))
                .collect(),
        ),
    ];
    for (kind, names) in groups {
        let mut seen = HashSet::new();
        for name in names {
            if name.is_empty() || name.contains('\0') {
                return Err(invalid(format!(
                    "{kind} name {name:?} is empty or has a NUL"
                )));
            }
            if !seen.insert(name) {
                return Err(invalid(format!(
                    "{kind} name `{name}` is used twice (space parameters and constants share \
                     one namespace)"
                )));
            }
        }
    }
    Ok(())
}

/// Little-endian bytes of an enum (u16) value.
fn u16_bytes(v: usize) -> [u8; 2] {
    (v as u16).to_le_bytes()
}

/// Predefined little-endian types used in several places.
struct Primitives {
    f64: Handle,
    u32: Handle,
    u64: Handle,
    i32: Handle,
    i64: Handle,
    bool: Handle,
    string: Handle,
}

impl Primitives {
    fn new(path: &Path) -> Result<Self, StoreError> {
        let build = |r: Result<Handle, Fail>, name: &str| r.at(path, name, "build datatype");
        Ok(Self {
            f64: build(types::f64_le(), "f64")?,
            u32: build(types::int_le(4, false), "u32")?,
            u64: build(types::int_le(8, false), "u64")?,
            i32: build(types::int_le(4, true), "i32")?,
            i64: build(types::int_le(8, true), "i64")?,
            bool: build(types::bool_enum(), "bool")?,
            string: build(types::vlen_utf8(), "string")?,
        })
    }
}

/// The committed record types that the per-problem columns use.
struct RecordTypes {
    parameters: Handle,
    objectives: Handle,
    predictions: Handle,
    constraints: Option<Handle>,
    /// `feature_type`, if the problem declares features.
    features: Option<Handle>,
    status: Handle,
}

/// The file, the run and the opt_id group being written; error context for every step.
struct Ctx<'a> {
    meta: &'a RunMetadata,
    path: &'a Path,
    opt: Handle,
}

impl Ctx<'_> {
    /// Full name of an object under the opt_id group (for error messages).
    fn obj(&self, name: &str) -> String {
        format!("/{}/{name}", self.meta.opt_id)
    }

    /// Commit a freshly built type as `/<opt_id>/<name>`.
    fn commit(&self, name: &str, built: Result<Handle, Fail>) -> Result<Handle, StoreError> {
        let ty = built.at(self.path, &self.obj(name), "build datatype")?;
        types::commit(self.opt.id(), name, &ty).at(
            self.path,
            &self.obj(name),
            "commit datatype",
        )?;
        Ok(ty)
    }

    /// Write the fixed-size dataset `/<opt_id>/<name>` of `n` elements laid out in `bytes`.
    fn array(&self, name: &str, ty: &Handle, n: usize, bytes: &[u8]) -> Result<(), StoreError> {
        write::write_array(self.opt.id(), name, ty.id(), n, bytes).at(
            self.path,
            &self.obj(name),
            "write dataset",
        )
    }

    /// Create the group `/<opt_id>/<name>`.
    fn group(&self, name: &str) -> Result<Handle, StoreError> {
        write::create_group(self.opt.id(), name).at(self.path, &self.obj(name), "create group")
    }

    /// Create an empty appendable column `name` in `group` (`/<opt_id>/<group_name>/<name>`).
    fn column(
        &self,
        group: &Handle,
        group_name: &str,
        name: &str,
        ty: hid_t,
    ) -> Result<Column, StoreError> {
        Column::create(group.id(), name, ty).at(
            self.path,
            &self.obj(&format!("{group_name}/{name}")),
            "create dataset",
        )
    }
}

/// Write the whole write-once layout under `file` and create the empty columns.
/// (Call [`validate`] first.)
pub(super) fn create(file: hid_t, meta: &RunMetadata, path: &Path) -> Result<Columns, StoreError> {
    let opt = write::create_group(file, &meta.opt_id).at(path, &meta.opt_id, "create group")?;
    let ctx = Ctx { meta, path, opt };
    let prim = Primitives::new(path)?;
    outputs(&ctx)?;
    parameters(&ctx, &prim)?;
    let record_types = record_types(&ctx)?;
    ids_and_seed(&ctx, &prim)?;
    write::write_string(ctx.opt.id(), "metadata", &meta.metadata).at(
        path,
        &ctx.obj("metadata"),
        "write dataset",
    )?;
    let (epochs, proposals) = run_group(&ctx, &prim, &record_types)?;
    let (fixed, error) = problem_columns(&ctx, &prim, &record_types)?;
    Ok(Columns {
        fixed,
        error,
        epochs,
        proposals,
    })
}

/// `objective_enum` / `constraint_enum` (numbered in configured order), their spec types and
/// the `objective_spec` / `constraint_spec` datasets.
fn outputs(ctx: &Ctx) -> Result<(), StoreError> {
    let schema = &ctx.meta.schema;
    let features: Vec<String> = ctx.meta.features.iter().map(|(n, _)| n.clone()).collect();
    for (kind, names) in [
        ("objective", &schema.objectives),
        ("constraint", &schema.constraints),
        ("feature", &features),
    ] {
        if names.is_empty() {
            continue; // only constraints and features can be absent (validated)
        }
        let members: Vec<(&str, i64)> = names.iter().map(String::as_str).zip(0..).collect();
        let enum_type = ctx.commit(
            &format!("{kind}_enum"),
            types::enumeration(2, false, &members),
        )?;
        let spec_type = ctx.commit(
            &format!("{kind}_spec_type"),
            types::compound(&[(kind, enum_type.id())]),
        )?;
        let bytes: Vec<u8> = (0..names.len()).flat_map(u16_bytes).collect();
        ctx.array(&format!("{kind}_spec"), &spec_type, names.len(), &bytes)?;
    }
    Ok(())
}

/// `parameter_enum` (constants first, sorted, then space parameters, sorted — as dmosopt
/// numbers them), `parameter_spec_type` + `parameter_spec` (one row per space parameter in
/// configured order, matching `parameter_space_type`'s fields), `problem_parameters_type` and,
/// if there are constants, `problem_parameters` (sorted by name).
fn parameters(ctx: &Ctx, prim: &Primitives) -> Result<(), StoreError> {
    let meta = ctx.meta;
    let mut constants: Vec<&(String, f64)> = meta.constants.iter().collect();
    constants.sort_by(|a, b| a.0.cmp(&b.0));
    let mut space_sorted: Vec<&str> = meta
        .space
        .parameters()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    space_sorted.sort_unstable();
    let numbers: Vec<(&str, i64)> = constants
        .iter()
        .map(|(n, _)| n.as_str())
        .chain(space_sorted)
        .zip(0..)
        .collect();
    let number_of = |name: &str| {
        numbers
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, v)| *v as usize)
    };
    let parameter_enum = ctx.commit("parameter_enum", types::enumeration(2, false, &numbers))?;

    let spec_type = ctx.commit(
        "parameter_spec_type",
        types::compound(&[
            ("parameter", parameter_enum.id()),
            ("is_integer", prim.bool.id()),
            ("lower", prim.f64.id()),
            ("upper", prim.f64.id()),
        ]),
    )?;
    let mut bytes = Vec::new();
    for p in meta.space.parameters() {
        bytes.extend(u16_bytes(number_of(&p.name)));
        bytes.push(u8::from(p.integer));
        bytes.extend(p.lower.to_le_bytes());
        bytes.extend(p.upper.to_le_bytes());
    }
    ctx.array("parameter_spec", &spec_type, meta.space.dim(), &bytes)?;

    let constants_type = ctx.commit(
        "problem_parameters_type",
        types::compound(&[
            ("parameter", parameter_enum.id()),
            ("is_integer", prim.bool.id()),
            ("value", prim.f64.id()),
        ]),
    )?;
    parameter_paths(ctx, &parameter_enum, &numbers)?;
    if !constants.is_empty() {
        let mut bytes = Vec::new();
        for (name, value) in &constants {
            bytes.extend(u16_bytes(number_of(name)));
            bytes.push(0); // our constants are f64: is_integer = FALSE
            bytes.extend(value.to_le_bytes());
        }
        ctx.array(
            "problem_parameters",
            &constants_type,
            constants.len(),
            &bytes,
        )?;
    }
    Ok(())
}

/// Fields of each `optimizer_stats/<epoch>/stats` row (all f64).
pub(super) const STATS_FIELDS: [&str; 5] = [
    "n_evaluations",
    "n_feasible",
    "hypervolume",
    "fit_seconds",
    "search_seconds",
];

/// `optimizer_params/<epoch>/` (the optimizer's parameters as scalar datasets and
/// `optimizer_name`) and `optimizer_stats/<epoch>/stats` (a 1-row f64 compound of
/// [`STATS_FIELDS`]), for an epoch being recorded. Groups already present (an epoch recorded
/// before a kill) are left as they are.
pub(super) fn epoch_groups(
    file: hid_t,
    meta: &RunMetadata,
    path: &Path,
    summary: &EpochSummary,
) -> Result<(), StoreError> {
    let opt_id = &meta.opt_id;
    let epoch = summary.epoch.to_string();
    let obj = |name: &str| format!("/{opt_id}/{name}");
    let opt = write::open_or_create_group(file, opt_id).at(path, &obj(""), "open group")?;
    let prim = Primitives::new(path)?;
    let i64_type = types::int_le(8, true).at(path, "i64", "build datatype")?;

    let params = write::open_or_create_group(opt.id(), "optimizer_params").at(
        path,
        &obj("optimizer_params"),
        "open group",
    )?;
    let here = format!("optimizer_params/{epoch}");
    if !write::exists(params.id(), &epoch).at(path, &obj(&here), "look up")? {
        let group =
            write::create_group(params.id(), &epoch).at(path, &obj(&here), "create group")?;
        let at = |name: &str| obj(&format!("{here}/{name}"));
        write::write_string(group.id(), "optimizer_name", &meta.optimizer_name).at(
            path,
            &at("optimizer_name"),
            "write dataset",
        )?;
        for (name, value) in &meta.optimizer_params {
            let (ty, bytes) = match value {
                ParamValue::Int(v) => (i64_type.id(), v.to_le_bytes()),
                ParamValue::Float(v) => (prim.f64.id(), v.to_le_bytes()),
            };
            write::write_scalar(group.id(), name, ty, &bytes).at(
                path,
                &at(name),
                "write dataset",
            )?;
        }
    }

    let stats = write::open_or_create_group(opt.id(), "optimizer_stats").at(
        path,
        &obj("optimizer_stats"),
        "open group",
    )?;
    let here = format!("optimizer_stats/{epoch}");
    if !write::exists(stats.id(), &epoch).at(path, &obj(&here), "look up")? {
        let group =
            write::create_group(stats.id(), &epoch).at(path, &obj(&here), "create group")?;
        let names: Vec<String> = STATS_FIELDS.iter().map(|s| s.to_string()).collect();
        let ty = types::compound_f64(&names).at(path, &obj(&here), "build datatype")?;
        let bytes = write::f64_bytes([
            summary.n_evaluations as f64,
            summary.n_feasible as f64,
            summary.hypervolume,
            summary.fit_seconds,
            summary.search_seconds,
        ]);
        write::write_array(group.id(), "stats", ty.id(), 1, &bytes).at(
            path,
            &obj(&format!("{here}/stats")),
            "write dataset",
        )?;
    }
    Ok(())
}

/// Components per row of `parameter_paths` and bytes per component (dmosopt's).
const PATH_COMPONENTS: usize = 10;
const PATH_COMPONENT_BYTES: usize = 128;

/// `parameter_path_type` (packed `{parameter, path_length: i32, components: 10 × S128}`) and
/// `parameter_paths`: one row per `parameter_enum` member in value order, the name split at
/// `.` (a flat name is one component; components beyond 10 or 128 bytes are cut).
fn parameter_paths(
    ctx: &Ctx,
    parameter_enum: &Handle,
    numbers: &[(&str, i64)],
) -> Result<(), StoreError> {
    let object = ctx.obj("parameter_path_type");
    let build = |r: Result<Handle, Fail>| r.at(ctx.path, &object, "build datatype");
    let component = build(types::fixed_ascii(PATH_COMPONENT_BYTES))?;
    let components = build(types::array(component.id(), PATH_COMPONENTS))?;
    let i32_type = build(types::int_le(4, true))?;
    let path_type = ctx.commit(
        "parameter_path_type",
        types::compound(&[
            ("parameter", parameter_enum.id()),
            ("path_length", i32_type.id()),
            ("components", components.id()),
        ]),
    )?;
    let mut bytes = Vec::new();
    for &(name, value) in numbers {
        let parts: Vec<&str> = name.split('.').take(PATH_COMPONENTS).collect();
        bytes.extend(u16_bytes(value as usize));
        bytes.extend((parts.len() as i32).to_le_bytes());
        for i in 0..PATH_COMPONENTS {
            let mut slot = [0u8; PATH_COMPONENT_BYTES];
            if let Some(part) = parts.get(i) {
                let n = part.len().min(PATH_COMPONENT_BYTES);
                slot[..n].copy_from_slice(&part.as_bytes()[..n]);
            }
            bytes.extend(slot);
        }
    }
    ctx.array("parameter_paths", &path_type, numbers.len(), &bytes)
}

/// The committed f64 record types (fields in configured order) and `status_enum`.
fn record_types(ctx: &Ctx) -> Result<RecordTypes, StoreError> {
    let schema = &ctx.meta.schema;
    let status: Vec<(&str, i64)> = Status::ALL
        .iter()
        .map(|s| (s.as_str(), i64::from(s.code())))
        .collect();
    Ok(RecordTypes {
        objectives: ctx.commit("objective_type", types::compound_f64(&schema.objectives))?,
        predictions: ctx.commit(
            "surrogate_objective_type",
            types::compound_f64(&schema.objectives),
        )?,
        constraints: if schema.constraints.is_empty() {
            None
        } else {
            Some(ctx.commit("constraint_type", types::compound_f64(&schema.constraints))?)
        },
        features: if ctx.meta.features.is_empty() {
            None
        } else {
            Some(ctx.commit(
                "feature_type",
                types::compound_f64_arrays(&ctx.meta.features),
            )?)
        },
        parameters: ctx.commit(
            "parameter_space_type",
            types::compound_f64(&ctx.meta.space.names()),
        )?,
        status: ctx.commit("status_enum", types::enumeration(1, false, &status))?,
    })
}

/// `problem_ids` (i32 `[problem_id]`) and `random_seed` (i32 `(1,)`, only if the seed fits).
fn ids_and_seed(ctx: &Ctx, prim: &Primitives) -> Result<(), StoreError> {
    let meta = ctx.meta;
    ctx.array("problem_ids", &prim.i32, 1, &meta.problem_id.to_le_bytes())?;
    if let Ok(seed) = i32::try_from(meta.seed) {
        ctx.array("random_seed", &prim.i32, 1, &seed.to_le_bytes())?;
    }
    Ok(())
}

/// `/<opt_id>/run/`: `config`, `program_version`, `seed` (u64), the empty `epochs` table and
/// the empty `proposals/` columns.
fn run_group(
    ctx: &Ctx,
    prim: &Primitives,
    types: &RecordTypes,
) -> Result<(Column, Vec<Column>), StoreError> {
    let meta = ctx.meta;
    let run = ctx.group("run")?;
    let obj = |name: &str| ctx.obj(&format!("run/{name}"));
    for (name, text) in [
        ("config", &meta.config_toml),
        ("program_version", &meta.program_version),
    ] {
        write::write_string(run.id(), name, text).at(ctx.path, &obj(name), "write dataset")?;
    }
    write::write_scalar(run.id(), "seed", prim.u64.id(), &meta.seed.to_le_bytes()).at(
        ctx.path,
        &obj("seed"),
        "write dataset",
    )?;
    let members: Vec<(&str, hid_t)> = EPOCH_FIELDS
        .iter()
        .map(|&name| match name {
            "epoch" => (name, prim.u32.id()),
            "n_evaluations" | "n_feasible" => (name, prim.u64.id()),
            "surrogate_epochs" => (name, prim.i64.id()),
            _ => (name, prim.f64.id()),
        })
        .collect();
    let epoch_type = types::compound(&members).at(ctx.path, &obj("epochs"), "build datatype")?;
    let epochs = ctx.column(&run, "run", "epochs", epoch_type.id())?;
    let group = write::create_group(run.id(), "proposals").at(
        ctx.path,
        &obj("proposals"),
        "create group",
    )?;
    let proposals = PROPOSAL_COLUMNS
        .iter()
        .map(|&name| {
            let ty = match name {
                "eval_id" => prim.u64.id(),
                "epoch" | "batch" => prim.u32.id(),
                "parameters" => types.parameters.id(),
                "feasibility" => prim.f64.id(),
                "surrogate_epochs" => prim.i64.id(),
                _ => types.predictions.id(),
            };
            ctx.column(&group, "run/proposals", name, ty)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((epochs, proposals))
}

/// The empty, aligned columns of `/<opt_id>/<problem_id>/`: the fixed-size ones in
/// [`Columns::fixed`] order, and `error`.
fn problem_columns(
    ctx: &Ctx,
    prim: &Primitives,
    types: &RecordTypes,
) -> Result<(Vec<Column>, Column), StoreError> {
    let pid = ctx.meta.problem_id.to_string();
    let problem = ctx.group(&pid)?;
    let mut specs: Vec<(&str, hid_t)> = vec![
        ("epochs", prim.u32.id()),
        ("parameters", types.parameters.id()),
        ("objectives", types.objectives.id()),
    ];
    if let Some(ty) = &types.constraints {
        specs.push(("constraints", ty.id()));
    }
    if let Some(ty) = &types.features {
        specs.push(("features", ty.id()));
    }
    specs.extend([
        ("predictions", types.predictions.id()),
        ("status", types.status.id()),
        ("eval_id", prim.u64.id()),
        ("worker", prim.u32.id()),
        ("start_time", prim.f64.id()),
        ("duration", prim.f64.id()),
    ]);
    let fixed = specs
        .into_iter()
        .map(|(name, ty)| ctx.column(&problem, &pid, name, ty))
        .collect::<Result<Vec<_>, _>>()?;
    let error = ctx.column(&problem, &pid, "error", prim.string.id())?;
    Ok((fixed, error))
}
