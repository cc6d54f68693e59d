pub mod assets;
pub mod embed;
pub mod inspect;
mod model;
