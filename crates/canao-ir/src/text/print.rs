use std::fmt;

use crate::graph::Graph;

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "graph {:?} {{", self.name())?;
        for (name, spec) in self.params() {
            let dims: Vec<String> = spec.shape.iter().map(|d| d.to_string()).collect();
            write!(f, "  param @{name} : f32[{}]", dims.join(","))?;
            if !spec.sparsity.is_dense() {
                write!(f, " {}", spec.sparsity)?;
            }
            writeln!(f)?;
        }
        for id in self.topo_order() {
            let node = self.node(id);
            let args: Vec<String> = self
                .inputs(id)
                .iter()
                .map(|i| i.to_string())
                .chain(node.op.params().iter().map(|p| format!("@{p}")))
                .collect();
            write!(f, "  {id} = {}({})", node.op.kind(), args.join(", "))?;
            let attrs = node.op.attrs();
            if !attrs.is_empty() {
                let kv: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, " {{{}}}", kv.join(", "))?;
            }
            writeln!(f, " : {}", node.ty)?;
        }
        let outs: Vec<String> = self.outputs().iter().map(|o| o.to_string()).collect();
        writeln!(f, "  output {}", outs.join(", "))?;
        writeln!(f, "}}")
    }
}
