puts "ruby app started #{RUBY_VERSION}"
