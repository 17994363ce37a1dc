//! The lab network: which address to advertise when the server listens on every
//! interface (`--listen 0.0.0.0:9092`) and no `--advertise` was given. Advertising
//! 0.0.0.0 would send every client's second connection (after Metadata) to itself, so
//! the server picks the host's primary address, the one its default route leaves from,
//! or refuses to start with a message saying to pass `--advertise`. Also the listening
//! socket itself, with a backlog for a whole class connecting at once.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};

use anyhow::{bail, Result};

/// The address other machines reach this host at: the source address of the default
/// route for `unspecified`'s family (found by "connecting" a UDP socket, which sends
/// nothing). Fails when there is no such route or it is a loopback address.
pub(crate) fn primary_address(unspecified: IpAddr) -> Result<IpAddr> {
    // Documentation addresses (RFC 5737 / RFC 3849): routed like any other, never used.
    let (bind, probe): (IpAddr, IpAddr) = match unspecified {
        IpAddr::V4(_) => (
            Ipv4Addr::UNSPECIFIED.into(),
            Ipv4Addr::new(192, 0, 2, 1).into(),
        ),
        IpAddr::V6(_) => (
            Ipv6Addr::UNSPECIFIED.into(),
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).into(),
        ),
    };
    let found = UdpSocket::bind((bind, 0))
        .and_then(|s| s.connect((probe, 9)).map(|()| s))
        .and_then(|s| s.local_addr());
    match found {
        Ok(a) if !a.ip().is_unspecified() && !a.ip().is_loopback() => Ok(a.ip()),
        Ok(_) | Err(_) => bail!(
            "listening on {unspecified} but this host has no network address to tell \
             clients (no default route): pass --advertise HOST:PORT with the address \
             students connect to"
        ),
    }
}

/// Connections the kernel may hold for the server to accept (it caps this at
/// `net.core.somaxconn`, 4096 on current kernels). The runtime's default, 1024, let a class
/// of thousands starting together overflow it: the SYNs past it were dropped, and clients
/// whose retransmitted SYNs were dropped too gave up with "connection timed out".
const BACKLOG: u32 = 4096;

/// Listens on `addr` (address reuse on, as the standard library's `bind` does) with
/// [`BACKLOG`].
pub(crate) fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}
