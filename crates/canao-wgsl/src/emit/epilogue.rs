//! What a weight kernel does to a finished dot product while it is still in a register: add the
//! bias, apply the activation, add the residual. Shared by the dense, block and pattern
//! generators, which differ only in how they form the product.

use canao_ir::Activation;

use crate::emit::Binding;

/// The fused epilogue of a linear layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epilogue {
    pub bias: bool,
    pub act: Activation,
    /// Adds a [T, N] value (the residual connection after the layer).
    pub residual: bool,
}

impl Epilogue {
    /// erf evaluations over `elements` outputs.
    pub fn transcendentals(&self, elements: usize) -> usize {
        if self.act == Activation::Gelu { elements } else { 0 }
    }

    pub const NONE: Epilogue = Epilogue {
        bias: false,
        act: Activation::Identity,
        residual: false,
    };

    /// The buffers the epilogue reads, bound after the kernel's own inputs.
    pub fn bindings(&self) -> Vec<Binding> {
        let mut b = Vec::new();
        if self.bias {
            b.push(Binding::read("bias"));
        }
        if self.residual {
            b.push(Binding::read("residual"));
        }
        b
    }

    /// Suffix for kernel names: `_bias_gelu_res`.
    pub fn suffix(&self) -> String {
        let mut s = String::new();
        if self.bias {
            s.push_str("_bias");
        }
        if self.act != Activation::Identity {
            s.push('_');
            s.push_str(self.act.name());
        }
        if self.residual {
            s.push_str("_res");
        }
        s
    }

    /// `fn epilogue(v, t, n) -> f32` for a [T, N] output (constant `N` must be declared), and the
    /// activation's helper functions.
    pub fn wgsl(&self) -> String {
        let mut body = String::from("    var r = v;\n");
        if self.bias {
            body.push_str("    r += bias[n];\n");
        }
        if self.act != Activation::Identity {
            body.push_str(&format!("    r = {};\n", act_expr(self.act, "r")));
        }
        if self.residual {
            body.push_str("    r += residual[t * N + n];\n");
        }
        format!(
            "{}fn epilogue(v: f32, t: u32, n: u32) -> f32 {{\n{body}    return r;\n}}\n",
            act_functions(self.act)
        )
    }
}

/// The activation applied to WGSL expression `x`.
pub fn act_expr(act: Activation, x: &str) -> String {
    match act {
        Activation::Identity => x.to_string(),
        Activation::Gelu => format!("gelu({x})"),
        Activation::Relu => format!("max({x}, 0.0)"),
    }
}

/// Helper functions an activation needs. WGSL has no erf: GELU uses Abramowitz and Stegun
/// 7.1.26 (1.5e-7 absolute), as the CPU kernels do.
pub fn act_functions(act: Activation) -> &'static str {
    match act {
        Activation::Gelu => {
            "fn erf(x: f32) -> f32 {
    let a = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let p = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
    return sign(x) * (1.0 - p * exp(-a * a));
}

// The exact (erf) GELU that BERT uses.
fn gelu(x: f32) -> f32 {
    return 0.5 * x * (1.0 + erf(x * 0.70710678118654752));
}

"
        }
        Activation::Identity | Activation::Relu => "",
    }
}
