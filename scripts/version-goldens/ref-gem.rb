# Gem::Version: `valid` prints Gem::Version.correct?, `compare` orders `a<TAB>b` pairs.
mode = ARGV[0]
$stdin.each_line do |line|
  line = line.chomp("\n")
  if mode == 'valid'
    puts "#{line}\t#{Gem::Version.correct?(line) ? 'valid' : 'invalid'}"
    next
  end
  a, b = line.split("\t", -1)
  op = if Gem::Version.correct?(a) && Gem::Version.correct?(b)
         ['<', '=', '>'][(Gem::Version.new(a) <=> Gem::Version.new(b)) + 1]
       else
         '!'
       end
  puts "#{a}\t#{op}\t#{b}"
end
