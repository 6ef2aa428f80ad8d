// Aedes as the benchmark runs it: one process, one TCP listener, in-memory persistence (its
// default). Usage: node --import tsx bench/broker/aedes-server.ts PORT. Exits when stdin closes,
// so that it never outlives the benchmark.
import net from 'node:net'
import { Aedes } from 'aedes'

const port = Number(process.argv[2])
const broker = await Aedes.createBroker()
// noDelay: Node servers keep Nagle on by default, which would add 20-40 ms stalls to Aedes'
// small packets; Mosquitto gets the same treatment (set_tcp_nodelay), so the comparison is fair.
const server = net.createServer({ noDelay: true }, broker.handle)
server.listen(port, '127.0.0.1')
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
