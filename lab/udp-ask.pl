#!/usr/bin/perl
# One datagram "q" to HOST PORT from each SOURCE_PORT in turn, run on a lab
# client; prints the first line of each answer, or "no answer" when none came
# within 8 s (a busy machine may take seconds; an answer ends the wait at once).
# usage: udp-ask.pl HOST PORT SOURCE_PORT...
use strict;
use warnings;
use IO::Socket::IP;

my ($host, $port, @source_ports) = @ARGV;
for my $source_port (@source_ports) {
  my $s = IO::Socket::IP->new(Proto => 'udp', PeerHost => $host, PeerPort => $port, LocalPort => $source_port, ReuseAddr => 1)
    or die "udp-ask: $host:$port from $source_port: $@\n";
  $s->send("q\n");
  my ($ready, $answer) = ('', '');
  vec($ready, fileno($s), 1) = 1;
  # An ICMP error makes the socket readable and recv fail: no answer too.
  my $got = select($ready, undef, undef, 8) && defined $s->recv($answer, 512) && length $answer;
  print $got ? (split /\n/, $answer)[0] : 'no answer', "\n";
  close $s;
}
