//! A prepared plan on the device: one storage buffer per value and per parameter, a bind group
//! per step, all made once; a run uploads the inputs, records every step as a dispatch of one
//! compute pass, and reads the outputs back through staging buffers.

use std::collections::BTreeMap;

use canao_ir::{Executable, ReportsWork, StepWork, TensorType, check_inputs};
use canao_tensor::Tensor;

use crate::error::{Result, WgslError};
use crate::lower::{Arg, Data, IdCheck, Plan};
use crate::runtime::timer::Timer;
use crate::runtime::{WgpuRuntime, scoped};

#[derive(Debug)]
struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    workgroups: [u32; 3],
    /// The IR node and kernel name, for profiles.
    node: String,
    kernel: String,
}

impl Dispatch {
    fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        let [x, y, z] = self.workgroups;
        pass.dispatch_workgroups(x, y, z);
    }
}

/// The device time of one step, from timestamp queries.
#[derive(Debug, Clone, PartialEq)]
pub struct StepTime {
    /// The IR node, as `%12 (linear)`.
    pub node: String,
    /// The kernel, e.g. `linear_block_32x32_bias`.
    pub kernel: String,
    pub ms: f64,
}

/// A graph prepared on a wgpu device.
#[derive(Debug)]
pub struct WgpuExe {
    device: wgpu::Device,
    queue: wgpu::Queue,
    values: Vec<wgpu::Buffer>,
    dispatches: Vec<Dispatch>,
    inputs: Vec<(String, TensorType, usize)>,
    id_checks: Vec<IdCheck>,
    outputs: Vec<(usize, Vec<usize>)>,
    staging: Vec<wgpu::Buffer>,
    timer: Option<Timer>,
    /// The plan's work, for latency models ([`ReportsWork`]).
    work: Vec<StepWork>,
}

fn bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn bytes_u32(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl WgpuExe {
    pub(crate) fn new(rt: &WgpuRuntime, plan: Plan) -> Result<Self> {
        let device = &rt.device;
        let limits = device.limits();
        let max = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC;
        let make = |what: String, bytes: u64| -> Result<wgpu::Buffer> {
            if bytes > max {
                return Err(WgslError::Device(format!(
                    "{what} needs {bytes} bytes, over the adapter's {max}-byte storage binding limit"
                )));
            }
            Ok(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(&what),
                // WebGPU refuses empty bindings; every value has at least one element anyway.
                size: bytes.max(4),
                usage: storage,
                mapped_at_creation: false,
            }))
        };
        let values = plan
            .values
            .iter()
            .enumerate()
            .map(|(i, &n)| make(format!("value {i}"), 4 * n as u64))
            .collect::<Result<Vec<_>>>()?;
        let mut params = Vec::with_capacity(plan.params.len());
        for (i, data) in plan.params.iter().enumerate() {
            let bytes = match data {
                Data::F32(v) => bytes_f32(v),
                Data::U32(v) => bytes_u32(v),
            };
            let buf = make(format!("parameter {i}"), bytes.len() as u64)?;
            rt.queue.write_buffer(&buf, 0, &bytes);
            params.push(buf);
        }
        for (v, data) in &plan.constants {
            rt.queue.write_buffer(&values[*v], 0, &bytes_f32(data));
        }
        let mut dispatches = Vec::with_capacity(plan.steps.len());
        for step in &plan.steps {
            let pipeline = rt.pipeline(&step.kernel)?;
            let entries: Vec<wgpu::BindGroupEntry> = step
                .args
                .iter()
                .enumerate()
                .map(|(i, a)| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: match a {
                        Arg::Value(v) => values[*v].as_entire_binding(),
                        Arg::Param(p) => params[*p].as_entire_binding(),
                    },
                })
                .collect();
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(&step.node),
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            });
            dispatches.push(Dispatch {
                pipeline,
                bind_group,
                workgroups: step.kernel.workgroups,
                node: step.node.clone(),
                kernel: step.kernel.name.clone(),
            });
        }
        let staging = plan
            .outputs
            .iter()
            .map(|(v, _)| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("staging"),
                    size: values[*v].size(),
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            })
            .collect();
        let timer = Timer::new(device, &rt.queue, dispatches.len());
        let work = plan.work();
        Ok(Self {
            device: device.clone(),
            queue: rt.queue.clone(),
            values,
            dispatches,
            inputs: plan.inputs,
            id_checks: plan.id_checks,
            outputs: plan.outputs,
            staging,
            timer,
            work,
        })
    }

    /// Ids outside the table would read another row silently on a GPU: refuse them here.
    fn check_ids(&self, inputs: &BTreeMap<String, Tensor>) -> Result<()> {
        for c in &self.id_checks {
            if let Some((pos, &id)) = inputs[&c.input]
                .data()
                .iter()
                .enumerate()
                .find(|(_, v)| **v < 0.0 || **v >= c.vocab as f32)
            {
                return Err(WgslError::Ids {
                    node: c.node.clone(),
                    detail: format!(
                        "id {id} at position {pos} of `{}` is outside the table of {} rows",
                        c.input, c.vocab
                    ),
                });
            }
        }
        Ok(())
    }

    /// Records every step as a dispatch of one compute pass.
    fn encode(&self) -> wgpu::CommandEncoder {
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            for d in &self.dispatches {
                d.record(&mut pass);
            }
        }
        enc
    }

    /// Runs the steps once on whatever the buffers hold (as [`Self::run_dispatches`]), each in
    /// its own compute pass between two timestamps, and returns every step's device time; None
    /// when the adapter has no timestamp queries. Separate passes add a little overhead per step
    /// but no work, so the sum is close to, and never below, the single-pass device time.
    pub fn profile(&mut self) -> Result<Option<Vec<StepTime>>> {
        let Some(timer) = &self.timer else {
            return Ok(None);
        };
        scoped(&self.device, "profiling", || {
            let mut enc = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            for (i, d) in self.dispatches.iter().enumerate() {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: None,
                    timestamp_writes: Some(timer.writes(i)),
                });
                d.record(&mut pass);
            }
            timer.resolve(&mut enc);
            self.queue.submit([enc.finish()]);
            timer.map();
            self.wait()?;
            let ms = timer.read()?;
            Ok(Some(
                self.dispatches
                    .iter()
                    .zip(ms)
                    .map(|(d, ms)| StepTime {
                        node: d.node.clone(),
                        kernel: d.kernel.clone(),
                        ms,
                    })
                    .collect(),
            ))
        })
    }

    fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| WgslError::Device(format!("waiting for the GPU: {e}")))
    }

    /// Runs the steps once on whatever the buffers hold (the inputs of the last
    /// [`Executable::run`]) and waits for them: no upload, no read-back. What kernel benchmarks
    /// time.
    pub fn run_dispatches(&mut self) -> Result<()> {
        let device = self.device.clone();
        scoped(&device, "running", || {
            self.queue.submit([self.encode().finish()]);
            self.wait()
        })
    }

    fn submit_and_read(&mut self) -> Result<Vec<Tensor>> {
        let mut enc = self.encode();
        for ((v, _), s) in self.outputs.iter().zip(&self.staging) {
            enc.copy_buffer_to_buffer(&self.values[*v], 0, s, 0, s.size());
        }
        self.queue.submit([enc.finish()]);
        for s in &self.staging {
            s.map_async(wgpu::MapMode::Read, .., |_| {});
        }
        self.wait()?;
        let mut out = Vec::with_capacity(self.outputs.len());
        for ((_, shape), s) in self.outputs.iter().zip(&self.staging) {
            let data: Vec<f32> = {
                let view = s
                    .get_mapped_range(..)
                    .map_err(|e| WgslError::Device(format!("reading an output back: {e}")))?;
                let n: usize = shape.iter().product();
                view.chunks_exact(4)
                    .take(n)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            };
            s.unmap();
            out.push(Tensor::new(shape.clone(), data)?);
        }
        Ok(out)
    }
}

impl Executable for WgpuExe {
    type Error = WgslError;

    fn run(&mut self, inputs: &BTreeMap<String, Tensor>) -> Result<Vec<Tensor>> {
        check_inputs(self.inputs.iter().map(|(n, ty, _)| (n.as_str(), ty)), inputs)?;
        self.check_ids(inputs)?;
        for (name, _, v) in &self.inputs {
            self.queue
                .write_buffer(&self.values[*v], 0, &bytes_f32(inputs[name].data()));
        }
        let device = self.device.clone();
        scoped(&device, "running", || self.submit_and_read())
    }
}

impl ReportsWork for WgpuExe {
    fn work(&self) -> Vec<StepWork> {
        self.work.clone()
    }
}
