//! The wgpu runtime: one device and queue, a pipeline cache keyed by shader source (the six
//! layers of a BERT share their kernels), and [`WgpuExe`], a prepared plan, which can time its
//! steps with timestamp queries where the adapter has them.

mod exe;
mod timer;

use std::collections::HashMap;
use std::sync::Mutex;

use canao_ir::{Graph, Runtime, Schedule, Weights};

use crate::emit::Kernel;
use crate::error::{Result, WgslError};
use crate::lower::lower;

pub use exe::{StepTime, WgpuExe};

/// A wgpu device. Validation errors are caught in error scopes and returned, never left to
/// wgpu's default handler (which panics).
#[derive(Debug)]
pub struct WgpuRuntime {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    pipelines: Mutex<HashMap<String, wgpu::ComputePipeline>>,
}

impl WgpuRuntime {
    /// The first adapter wgpu offers (high performance preferred; `WGPU_BACKEND` and
    /// `WGPU_ADAPTER_NAME` narrow the choice), with every limit it supports.
    pub fn new() -> Result<Self> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            ..Default::default()
        }))
        .map_err(|e| WgslError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("canao"),
            required_limits: adapter.limits(),
            // Timestamp queries, where the adapter has them, for per-kernel device times.
            required_features: adapter.features() & wgpu::Features::TIMESTAMP_QUERY,
            ..Default::default()
        }))
        .map_err(|e| WgslError::Device(format!("cannot open {}: {e}", info.name)))?;
        Ok(Self {
            device,
            queue,
            info,
            pipelines: Mutex::new(HashMap::new()),
        })
    }

    pub fn adapter(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// True for software adapters such as Mesa's lavapipe, whose timings are not GPU figures.
    pub fn is_cpu(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// True when the device has timestamp queries (see [`WgpuExe::profile`]).
    pub fn has_timestamps(&self) -> bool {
        self.device.features().contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// `name (backend, device type)`, for reports.
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}, {:?})",
            self.info.name, self.info.backend, self.info.device_type
        )
    }

    /// The pipeline for `kernel`, compiled once per distinct source.
    fn pipeline(&self, kernel: &Kernel) -> Result<wgpu::ComputePipeline> {
        let mut cache = self
            .pipelines
            .lock()
            .map_err(|_| WgslError::Device("pipeline cache poisoned by a panic".into()))?;
        if let Some(p) = cache.get(&kernel.source) {
            return Ok(p.clone());
        }
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(&kernel.name),
            source: wgpu::ShaderSource::Wgsl(kernel.source.as_str().into()),
        });
        let p = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&kernel.name),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        cache.insert(kernel.source.clone(), p.clone());
        Ok(p)
    }
}

/// Runs `f` in a validation and an out-of-memory error scope and returns what they caught.
fn scoped<T>(device: &wgpu::Device, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let invalid = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let r = f();
    let errors = [pollster::block_on(invalid.pop()), pollster::block_on(oom.pop())];
    match errors.into_iter().flatten().next() {
        Some(e) => Err(WgslError::Device(format!("{what}: {e}"))),
        None => r,
    }
}

impl Runtime for WgpuRuntime {
    type Exe = WgpuExe;
    type Error = WgslError;

    /// `schedule.threads` does not apply to a GPU and is ignored.
    fn prepare(&self, graph: &Graph, weights: &Weights, _schedule: &Schedule) -> Result<WgpuExe> {
        let plan = lower(graph, weights)?;
        scoped(&self.device, &format!("preparing {}", graph.name()), || {
            WgpuExe::new(self, plan)
        })
    }
}
