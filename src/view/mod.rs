//! The view layer's building blocks: the notebook's display protocol, HTML escaping and the palette
//! ([`display`]), and charts drawn with plotters ([`chart`]). Each result type draws itself with these; the model
//! card that puts results together is [`crate::report`].

pub mod chart;
pub mod display;
