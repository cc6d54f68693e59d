use std::collections::BTreeMap;

use crate::dtype::{DType, TensorType};
use crate::error::{IrError, Result};
use crate::graph::{Graph, NodeId, ParamSpec};
use crate::op::{Attrs, Op};
use crate::sparsity::Sparsity;

/// A cursor over one line; errors carry the line and column.
struct Cursor<'a> {
    line: usize,
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn err<T>(&self, detail: impl Into<String>) -> Result<T> {
        Err(IrError::Parse {
            line: self.line,
            column: self.pos + 1,
            detail: detail.into(),
        })
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str) -> Result<()> {
        if self.eat(token) {
            Ok(())
        } else {
            self.err(format!("expected `{token}`"))
        }
    }

    /// Characters allowed in names, numbers and attribute values.
    fn word(&mut self) -> Result<&'a str> {
        self.skip_ws();
        let r = self.rest();
        let n = r
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '+')))
            .unwrap_or(r.len());
        if n == 0 {
            return self.err("expected a name or number");
        }
        self.pos += n;
        Ok(&r[..n])
    }

    fn quoted(&mut self) -> Result<String> {
        self.skip_ws();
        let start = self.pos;
        if !self.eat("\"") {
            return self.err("expected a quoted string");
        }
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    let body = &self.rest()[..i];
                    let out = super::escape::unescape(body).or_else(|e| self.err(e))?;
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => {
                    chars.next();
                }
                _ => {}
            }
        }
        self.pos = start;
        self.err("unterminated string")
    }

    fn node_ref(&mut self) -> Result<u32> {
        self.expect("%")?;
        let w = self.word()?;
        w.parse()
            .or_else(|_| self.err(format!("`%{w}` is not a node reference")))
    }

    fn ty(&mut self) -> Result<TensorType> {
        let d = self.word()?;
        let dtype = match DType::parse(d) {
            Some(t) => t,
            None => return self.err(format!("unknown dtype `{d}`")),
        };
        self.expect("[")?;
        let mut shape = Vec::new();
        if !self.eat("]") {
            loop {
                let w = self.word()?;
                shape.push(w.parse().or_else(|_| self.err(format!("`{w}` is not a dimension")))?);
                if self.eat("]") {
                    break;
                }
                self.expect(",")?;
            }
        }
        Ok(TensorType { dtype, shape })
    }

    fn done(&mut self) -> Result<()> {
        self.skip_ws();
        if self.rest().is_empty() {
            Ok(())
        } else {
            self.err(format!("unexpected `{}`", self.rest()))
        }
    }
}

/// Parses the text form printed by `Graph`'s `Display`. Node numbers need not be dense; the
/// result is equal (see `Graph: PartialEq`) to the graph that was printed. Every node is
/// re-inferred and checked against its annotation.
pub fn parse_graph(text: &str) -> Result<Graph> {
    let mut graph: Option<Graph> = None;
    let mut ids: BTreeMap<u32, NodeId> = BTreeMap::new();
    let mut closed = false;
    let mut outputs = None;
    let mut last_line = 0;
    for (i, raw) in text.lines().enumerate() {
        last_line = i + 1;
        let mut c = Cursor {
            line: i + 1,
            text: raw,
            pos: 0,
        };
        c.skip_ws();
        if c.rest().is_empty() || c.rest().starts_with('#') {
            continue;
        }
        if closed {
            return c.err("text after the closing `}`");
        }
        let Some(g) = graph.as_mut() else {
            if !c.eat("graph") {
                return c.err("expected `graph \"NAME\" {`");
            }
            let name = c.quoted()?;
            c.expect("{")?;
            c.done()?;
            graph = Some(Graph::new(name));
            continue;
        };
        if c.eat("}") {
            c.done()?;
            closed = true;
        } else if c.eat("param") {
            c.expect("@")?;
            let name = c.word()?.to_string();
            c.expect(":")?;
            let ty = c.ty()?;
            if ty.dtype != DType::F32 {
                return c.err("parameters are f32");
            }
            c.skip_ws();
            let col = c.pos;
            let sparsity = if c.rest().is_empty() {
                Sparsity::Dense
            } else {
                let s = Sparsity::parse(c.rest(), &ParamSpec::dense(ty.shape.clone()).matrix_shape());
                s.or_else(|d| Cursor { pos: col, ..c }.err(d))?
            };
            g.add_param(
                name,
                ParamSpec {
                    shape: ty.shape,
                    sparsity,
                },
            )
            .map_err(|e| IrError::Parse {
                line: i + 1,
                column: 1,
                detail: e.to_string(),
            })?;
        } else if c.eat("output") {
            let mut outs = Vec::new();
            loop {
                let n = c.node_ref()?;
                outs.push(
                    *ids.get(&n)
                        .map_or_else(|| c.err(format!("output %{n} is not defined")), Ok)?,
                );
                if !c.eat(",") {
                    break;
                }
            }
            c.done()?;
            outputs = Some(outs);
        } else {
            let num = c.node_ref()?;
            if ids.contains_key(&num) {
                return c.err(format!("%{num} is defined twice"));
            }
            c.expect("=")?;
            let kind = c.word()?.to_string();
            c.expect("(")?;
            let (mut inputs, mut params) = (Vec::new(), Vec::new());
            if !c.eat(")") {
                loop {
                    if c.eat("@") {
                        params.push(c.word()?.to_string());
                    } else {
                        let n = c.node_ref()?;
                        inputs.push(
                            *ids.get(&n)
                                .map_or_else(|| c.err(format!("%{n} is used before it is defined")), Ok)?,
                        );
                    }
                    if c.eat(")") {
                        break;
                    }
                    c.expect(",")?;
                }
            }
            let mut attrs = Attrs::new();
            if c.eat("{") && !c.eat("}") {
                loop {
                    let key = c.word()?.to_string();
                    c.expect("=")?;
                    c.skip_ws();
                    let value = if c.rest().starts_with('"') {
                        format!("{:?}", c.quoted()?)
                    } else {
                        c.word()?.to_string()
                    };
                    attrs.insert(key, value);
                    if c.eat("}") {
                        break;
                    }
                    c.expect(",")?;
                }
            }
            c.expect(":")?;
            let ty = c.ty()?;
            c.done()?;
            let op = Op::from_text(&kind, params, &attrs, &ty).or_else(|d| c.err(d))?;
            let id = g.add(op, &inputs).map_err(|e| IrError::Parse {
                line: i + 1,
                column: 1,
                detail: e.to_string(),
            })?;
            if g.node(id).ty != ty {
                return c.err(format!("%{num} is annotated {ty} but its type is {}", g.node(id).ty));
            }
            ids.insert(num, id);
        }
    }
    let err = |detail: &str| {
        Err(IrError::Parse {
            line: last_line,
            column: 1,
            detail: detail.into(),
        })
    };
    let Some(mut g) = graph else {
        return err("no `graph` header");
    };
    if !closed {
        return err("missing closing `}`");
    }
    // Printing writes the line even for a graph without outputs, which would not parse back.
    let Some(outputs) = outputs else {
        return err("no `output` line: a graph names the values it computes");
    };
    g.set_outputs(outputs)?;
    Ok(g)
}
