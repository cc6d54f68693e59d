//! GPU-side timing with timestamp queries: a timestamp at the start and end of each step's
//! compute pass, resolved into a buffer and read back as milliseconds per step. Host wall time
//! includes submission and waiting; these are the device's own clock, so they are what a
//! per-kernel table should show. Only adapters with `Features::TIMESTAMP_QUERY` have them.

use crate::error::{Result, WgslError};

/// Query slots one set may hold (WebGPU's limit); two per step.
const MAX_QUERIES: u32 = wgpu::QUERY_SET_MAX_QUERIES;

#[derive(Debug)]
pub(super) struct Timer {
    set: wgpu::QuerySet,
    /// Where the queries resolve (u64 ticks), then copied to `read` for mapping.
    resolve: wgpu::Buffer,
    read: wgpu::Buffer,
    /// Nanoseconds per tick.
    period_ns: f64,
    steps: u32,
}

impl Timer {
    /// A timer for `steps` steps, or None when the device lacks timestamp queries, when there is
    /// nothing to time, or when the plan has more steps than one query set can hold.
    pub(super) fn new(device: &wgpu::Device, queue: &wgpu::Queue, steps: usize) -> Option<Self> {
        let steps = u32::try_from(steps).ok().filter(|&s| s > 0 && 2 * s <= MAX_QUERIES)?;
        if !device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            return None;
        }
        let bytes = 8 * 2 * u64::from(steps);
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        Some(Self {
            set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("step timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * steps,
            }),
            resolve: buffer(
                "timestamps",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            read: buffer(
                "timestamps read-back",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
            period_ns: f64::from(queue.get_timestamp_period()),
            steps,
        })
    }

    /// The timestamp writes around step `i`'s pass.
    pub(super) fn writes(&self, i: usize) -> wgpu::ComputePassTimestampWrites<'_> {
        // i < steps, which fits u32 (checked in `new`).
        let i = i as u32;
        wgpu::ComputePassTimestampWrites {
            query_set: &self.set,
            beginning_of_pass_write_index: Some(2 * i),
            end_of_pass_write_index: Some(2 * i + 1),
        }
    }

    /// Records the resolve and the copy to the read-back buffer, after every step's pass.
    pub(super) fn resolve(&self, enc: &mut wgpu::CommandEncoder) {
        enc.resolve_query_set(&self.set, 0..2 * self.steps, &self.resolve, 0);
        enc.copy_buffer_to_buffer(&self.resolve, 0, &self.read, 0, self.read.size());
    }

    /// Starts mapping the read-back buffer; call after submitting, then wait for the device.
    pub(super) fn map(&self) {
        self.read.map_async(wgpu::MapMode::Read, .., |_| {});
    }

    /// Milliseconds of each step, once the mapping has completed.
    pub(super) fn read(&self) -> Result<Vec<f64>> {
        let ms = {
            let view = self
                .read
                .get_mapped_range(..)
                .map_err(|e| WgslError::Device(format!("reading timestamps back: {e}")))?;
            let ticks: Vec<u64> = view
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("chunks of 8")))
                .collect();
            // A driver may order the two writes of a very short pass equal or (after a clock
            // wrap) backwards: count that as zero rather than a huge duration.
            ticks
                .chunks_exact(2)
                .map(|p| p[1].saturating_sub(p[0]) as f64 * self.period_ns / 1e6)
                .collect()
        };
        self.read.unmap();
        Ok(ms)
    }
}
